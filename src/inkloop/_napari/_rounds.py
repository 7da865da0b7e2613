"""Rounds recorded from the dock: at each Stop (the run's end) and each checkpoint saved."""

from __future__ import annotations

import functools
import logging
from concurrent.futures import Future, wait

from inkloop._napari._say import say_warning
from inkloop.brush import decode_labels
from inkloop.engine import CheckpointSaved, RunStarted, Validated
from inkloop.io import rounds_path
from inkloop.rounds import Round, append_round, new_round, read_rounds

log = logging.getLogger(__name__)


class RoundKeeper:
    """Appends a round to ``<id>_rounds.jsonl`` beside the labels of ``loop``'s segment
    whenever a checkpoint is saved outside a running training: the save that ends each run
    (Stop, or the run's limit) and any the user asks for. Autosaves while training are not
    rounds. ``rounds`` holds them all, for the dock's plot, as the file held them when this
    dock last recorded one: rounds `inkloop train` (or another dock) recorded too.

    A round describes the labels its checkpoint records it trained on (`run_facts`: those of
    its run's last step, not strokes painted since), else (a run let go of, `record_let_go`)
    the labels as they are when it is recorded: decoded, counted and hashed on the label
    worker (`LabelWorker`: about a second for a whole segment, nothing copied on the GUI
    thread). Rounds are written on that worker, round after round; `close` waits for the
    rounds under way. Each round is numbered when it is written (`append_round`), from
    the file: another process's rounds are never given the same numbers. Its validation
    F0.5 is the score measured at its step on the validation region of now (recorded as the
    region scored), else None; its
    validation region what the training behind its weights held out (`HeldOutWeights`), which
    the dock reads back when it continues from that model at a reopen."""

    def __init__(self, loop) -> None:
        self.loop = loop
        self.path = rounds_path(loop.labels.segment)
        self.rounds = read_rounds(self.path)
        # a round counts the accepts of every session, the canvas those since it opened
        last = self.rounds[-1].accepted_pixels if self.rounds else 0
        self._accepted_before = last - loop.labels.painter.canvas.accepted_pixels
        self.on_round = None  # called with each new round (the dock's plot)
        self._writing: list[Future] = []  # the rounds under way
        self._scored: tuple[Validated, tuple | None] | None = None  # the last, and its region
        self._started: RunStarted | None = None  # the engine's latest run, as it began
        loop.changed.connect(self._on_event)

    def close(self) -> None:
        """Stop recording; the rounds under way are written (and said if they fail) first."""
        self.loop.changed.disconnect(self._on_event)
        self.on_round = None
        wait(self._writing)
        for writing in list(self._writing):
            self._written(writing)

    def _on_event(self, event) -> None:
        if isinstance(event, Validated):  # the engine's region: its settings are the loop's
            self._scored = (event, self.loop.settings.validation)
        elif isinstance(event, RunStarted):
            self._started = event
        elif isinstance(event, CheckpointSaved) and not self.loop.state.running:
            self.record(event.path, event.step, event.init, event.run)

    def record_let_go(self, checkpoint: str, steps: int) -> Future:
        """`record` the run under way, which the dock lets go of (its engine saves it to
        ``checkpoint`` as it closes, unheard; ``steps``: the last step heard), with its id
        and what it continued from, as its RunStarted said: cut short."""
        started = self._started
        if started is None:
            return self.record(checkpoint, steps, run={"cut_short": True})
        return self.record(checkpoint, steps, started.init, {"run": started.run, "cut_short": True})

    def _score_at(self, steps: int) -> float | None:
        """The validation F0.5 measured at step ``steps`` on the current validation region;
        None if none was (an earlier step's, or another region's, is not this round's)."""
        if self._scored is None:
            return None
        validated, region = self._scored
        same = validated.step == steps and region == self.loop.settings.validation
        return validated.f05 if same else None

    def record(
        self,
        checkpoint: str | None,
        steps: int,
        init: dict | None = None,
        run: dict | None = None,
    ) -> Future:
        """Append the round of the labels as they are now (``init``: what ``checkpoint``
        continued from, its provenance's; ``run``: what it records of its run, `run_facts`);
        the Future's result is the round as written and the rounds the file held then
        (``rounds`` becomes those, and ``on_round`` hears of the round, on the GUI thread
        after)."""
        canvas = self.loop.labels.painter.canvas
        f05 = self._score_at(steps)
        write = functools.partial(
            self._write,
            accepted_pixels=self._accepted_before + canvas.accepted_pixels,
            steps=steps,
            validation_f05=f05,
            scored_region=None if f05 is None else self.loop.settings.validation,
            checkpoint=checkpoint,
            validation_region=self.loop.trained.held_out(),
            init=init,
            run=run,
        )
        writing = self.loop.labels.worker.submit(write, done=self._written)
        self._writing.append(writing)
        return writing

    def _write(self, codes, **facts) -> tuple[Round, list[Round]]:
        """The round of ``codes`` (on the worker thread), or of the labels ``facts["run"]``
        records, appended to the rounds file (which numbers it), and the rounds the file
        holds then."""
        recorded = (facts["run"] or {}).get("labels")
        labels = (None, None) if recorded else decode_labels(codes)  # not read if recorded
        unnumbered = new_round(0, *labels, **facts)  # append_round numbers it
        round_ = append_round(self.path, unnumbered)
        return round_, read_rounds(self.path)

    def _written(self, writing: Future) -> None:
        """A round is written, or failed (GUI thread; `close` handles those left)."""
        if writing not in self._writing:  # handled by close
            return
        self._writing.remove(writing)
        error = writing.exception()
        if error is None:
            round_, self.rounds = writing.result()
            if self.on_round is not None:
                self.on_round(round_)
        elif isinstance(error, (OSError, ValueError)):  # full disk; napari's label codes
            # the loop goes on; the user hears why the round is missing
            log.error("recording a round failed", exc_info=error)
            say_warning(f"this round was not recorded in {self.path}: {error}")
        else:
            raise error  # a bug: napari shows it whole
