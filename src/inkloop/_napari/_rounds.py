"""Rounds recorded from the dock: at each Stop (the run's end) and each checkpoint saved."""

from __future__ import annotations

import logging

from napari.utils.notifications import show_warning

from inkloop.engine import CheckpointSaved
from inkloop.io import rounds_path
from inkloop.rounds import append_round, new_round, next_number, read_rounds

log = logging.getLogger(__name__)


class RoundKeeper:
    """Appends a round to ``<id>_rounds.jsonl`` beside the labels of ``loop``'s segment
    whenever a checkpoint is saved outside a running training: the save that ends each run
    (Stop, or the run's limit) and any the user asks for. Autosaves while training are not
    rounds. ``rounds`` holds them all, for the dock's plot."""

    def __init__(self, loop) -> None:
        self.loop = loop
        self.path = rounds_path(loop.labels.segment)
        self.rounds = read_rounds(self.path)
        # a round counts the accepts of every session, the canvas those since it opened
        last = self.rounds[-1].accepted_pixels if self.rounds else 0
        self._accepted_before = last - loop.labels.painter.canvas.accepted_pixels
        self.on_round = None  # called with each new round (the dock's plot)
        loop.changed.connect(self._on_event)

    def close(self) -> None:
        self.loop.changed.disconnect(self._on_event)

    def _on_event(self, event) -> None:
        if isinstance(event, CheckpointSaved) and not self.loop.state.running:
            self.record(event.path, event.step)

    def record(self, checkpoint: str | None, steps: int) -> None:
        """Append the round of the labels as they are now."""
        ink, supervised = self.loop.labels.labels()
        validations = self.loop.validations
        round_ = new_round(
            next_number(self.rounds),
            ink,
            supervised,
            accepted_pixels=self._accepted_before + self.loop.labels.painter.canvas.accepted_pixels,
            steps=steps,
            validation_f05=validations[-1].f05 if validations else None,
            checkpoint=checkpoint,
        )
        try:
            append_round(self.path, round_)
        except OSError as error:  # the loop goes on; the user hears why the round is missing
            log.exception("recording round %d failed", round_.number)
            show_warning(f"Ink Loop: round {round_.number} not recorded in {self.path}: {error}")
            return
        self.rounds.append(round_)
        if self.on_round is not None:
            self.on_round(round_)
