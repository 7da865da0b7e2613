"""The engine's training commands and steps, on its worker thread."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

from inkloop._checkpoint_checks import counted, not_finite
from inkloop._checkpoint_round import run_facts
from inkloop._errors import TrainingDivergedError
from inkloop._lineage import continued_from
from inkloop.checkpoint import Checkpoint, checkpoint_bytes, same_file, save_checkpoint
from inkloop.engine._build import checkpoint_provenance
from inkloop.engine._events import (
    CheckpointSaved,
    Failed,
    Notice,
    RunStarted,
    State,
    StepDone,
    error_message,
    failed,
    log_failure,
)
from inkloop.engine._kept_model import kept_said, write_keeping
from inkloop.engine._preview import PreviewSchedule, unscorable
from inkloop.engine._session import Session
from inkloop.train._sampler import WaitInterruptedError

NOT_FINITE = "not finite"  # what a divergence's Failed says where it left weights so
FINITE = "its weights are finite"  # ...and where its scan found all finite


class Training:
    """Start, pause, resume, stop, save and step the session's model.

    ``preview`` is paid back for previews by training time; ``validate`` scores the
    validation region (`Predictions.validate`: False if a command cut it short);
    ``interrupt()`` says a command waits, which a step still waiting for its batch (a stalled
    server) gives way to. A model already at the autosave path that this session did not
    start from is kept aside (`kept_copy_path`) at the first write, once that succeeded.
    """

    def __init__(
        self,
        session: Session,
        preview: PreviewSchedule,
        validate: Callable[[], bool],
        interrupt: Callable[[], bool] = lambda: False,
    ) -> None:
        self.session, self.preview, self.validate = session, preview, validate
        self.interrupt = interrupt
        self.batch_awaited = False  # the last step gave way to a command before its batch came
        self.last_save = time.monotonic()
        self.autosave_failing = False  # the last autosave failed: said, not said again
        self.validated_at: int | None = None  # the step the region was scored at last
        # the autosave path holds nothing this session must keep: its own save, or the
        # model it continues from
        self.autosave_ours = False
        self.failing_step = False  # a failed step's autosave: its Failed follows, said once

    def start(self) -> None:
        session = self.session
        if session.state.running:
            return
        trainer = session.ensure_trainer()
        trainer.new_run()
        trainer.interrupt = self.interrupt
        session.emit(
            RunStarted(
                trainer.step_count,
                trainer.model_config.encoder,
                str(trainer.device),
                trainer.precision,
                trainer.batches().maker,
                trainer.batch_size,
                trainer.run_record.id,
                continued_from(session.settings.init),
            )
        )
        session.set_state(State.TRAINING)
        validation = session.settings.validation
        if validation is not None and (why := unscorable(session.labels, validation)):
            session.emit(Notice(why))

    def pause(self) -> None:
        if self.session.state is State.TRAINING:
            self.session.set_state(State.PAUSED)

    def resume(self) -> None:
        if self.session.state is State.PAUSED:
            self.session.set_state(State.TRAINING)

    def stop(self) -> None:
        """Stop the run; the validation region is scored at this step (unless it was, or the
        run made none: its model is the one it started from), so that the round this stop
        records has its own score, then the model is autosaved."""
        if self.session.state.running:
            self.session.set_state(State.STOPPED)
            try:
                if self.session.settings.validation and self.session.trainer.run_steps:
                    self.validate_once()
            finally:
                self.autosave()
                self._drop_awaited_batches()

    def _drop_awaited_batches(self) -> None:
        """After a run stopped while waiting for a batch, close its stream, so the next run
        reads afresh; the reads still under way end by their own timeout, holding nothing."""
        if self.batch_awaited:
            self.batch_awaited = False
            self.session.trainer.close()

    def validate_once(self) -> None:
        """Score the validation region at this step, unless it was scored at it already."""
        step = self.session.trainer.step_count
        if self.validated_at != step and self.validate():
            self.validated_at = step  # not if cut short: a score at this step is still due

    def save(self, path: Path, autosave: bool = False) -> None:
        """Write a checkpoint to ``path``; RequestError if it is a file the session reads.
        The first write to the autosave path sets aside a model there (`_keep_earlier_model`),
        whether an autosave or a Save (`inkloop train`'s early save at a Ctrl+C) makes it."""
        session = self.session
        session.refuse_output(path)
        trainer = session.ensure_trainer()
        provenance = checkpoint_provenance(
            session.settings, session.segment, session.labels, trainer.run_record.trained_labels
        )
        checkpoint = trainer.checkpoint(provenance)
        own = session.settings.autosave
        # an autosave, or a Save there, whichever writes it first
        if own is not None and not self.autosave_ours and same_file(path, own):
            self._keep_earlier_model(Path(path).expanduser(), checkpoint)
        else:
            save_checkpoint(path, checkpoint)
        self.last_save = time.monotonic()
        lineage, run = provenance.get("init"), run_facts(checkpoint.provenance)
        session.emit(CheckpointSaved(str(path), trainer.step_count, autosave, lineage, run))

    def step(self) -> None:
        """One training step, with what follows it: validation, autosave, the run's end."""
        session, trainer = self.session, self.session.trainer
        settings = session.settings
        began = time.monotonic()
        try:
            result = trainer.step()
        except WaitInterruptedError:  # the command goes first; the next step waits on
            self.batch_awaited = True
            return
        self.batch_awaited = False
        self.preview.paid(time.monotonic() - began)
        session.emit(
            StepDone(
                result.step,
                result.loss,
                result.lr,
                result.samples_per_s,
                result.batch_size,
                result.labels_version,
                trainer.progress(),
            )
        )
        if result.notice:
            session.emit(Notice(result.notice))
        if settings.validation and trainer.run_steps % settings.validate_every == 0:
            self.validate_once()
        if time.monotonic() - self.last_save > settings.autosave_every:
            self.autosave()
        if trainer.finished:
            if settings.validation:
                self.validate_once()
            session.set_state(State.FINISHED)
            self.autosave()

    def autosave(self) -> None:
        """Write the run's checkpoint to its autosave path, if it has one and the run made a
        step (untrained, it is the model it started from: rewritten, that file would lose its
        round and run); never raised, as a failed step's autosave runs in its error's handler.
        Weights that diverged fail the run (`_diverged`). A write that fails (a full disk, a
        folder gone) is said once, until one succeeds, and training goes on: the weights are
        in memory, and a Save to another place keeps them."""
        path = self.session.settings.autosave
        trainer = self.session.trainer
        if path is None or trainer is None or not trainer.run_steps:
            return
        path = Path(path)  # EngineSettings built by hand may hold a str
        try:
            self.save(path, autosave=True)
        except TrainingDivergedError as error:
            self._diverged(error)
        except OSError as error:
            self.last_save = time.monotonic()  # tried: not again at every step
            if not self.autosave_failing:
                told = f"could not autosave the model to {path} ({error}); training goes on: "
                self.session.emit(Notice(told + "save the model elsewhere to keep it"))
            self.autosave_failing = True
        else:
            self.autosave_failing = False

    def fail_step(self, told: Failed, error: Exception) -> None:
        """End the run whose step failed with ``error`` (``told`` says why), telling what its
        weights are (`_weights_told`)."""
        self.failing_step = True
        try:
            told = self._weights_told(told, error)
        finally:
            self.failing_step = False
        self.session.emit(told)
        self.session.set_state(State.FAILED)

    def _weights_told(self, told: Failed, error: Exception) -> Failed:
        """``told``, with what the failed step left: its weights are autosaved (the steps
        before it count: a server's error, say), so that whoever hears ``told`` knows which
        step the file holds. A divergence's weights are scanned first: where some are not
        finite (a NaN loss from weights the update before it made so), nothing is saved and
        ``told`` counts them, so that no one keeps them as a model; where all are, ``told``
        says `FINITE`, which alone lets the dock keep the engine for a Save. A scan or an
        autosave that raises (a poisoned CUDA context) is added to ``told``."""
        diverged = isinstance(error, TrainingDivergedError)
        try:
            trainer = self.session.trainer
            names = not_finite(trainer.inference_model.state_dict()) if diverged else []
        except Exception as raised:
            log_failure("inkloop engine: a diverged step's weight scan", raised)
            return _also(told, f"the weights could not be checked ({error_message(raised)})")
        if names:
            return _not_finite_told(told, names)
        try:
            self.autosave()
        except Exception as raised:
            log_failure("inkloop engine: a failed step's autosave", raised)
            return _also(told, f"the model could not be autosaved ({error_message(raised)})")
        return _also(told, FINITE) if diverged else told

    def _diverged(self, error: TrainingDivergedError) -> None:
        """Non-finite weights, seen by an autosave: no save can keep them, so the run has
        failed (told as Failed, unless a failed step tells it) and training ends."""
        if self.session.state is not State.FAILED and not self.failing_step:
            self.session.emit(failed("inkloop engine: autosave", error))
            self.session.set_state(State.FAILED)

    def _keep_earlier_model(self, path: Path, checkpoint: Checkpoint) -> None:
        """This session's first write of ``checkpoint`` to its own model file ``path``: a model
        there that it did not continue from (one saved on an earlier day, say, before Clear)
        is set aside under `kept_copy_path` (`write_keeping`), and where is said. OSError,
        TrainingDivergedError: nothing written, nothing moved."""
        init = self.session.settings.init
        keep = not (init is not None and same_file(init, path))
        kept = write_keeping(path, checkpoint_bytes(checkpoint), keep)
        self.autosave_ours = True
        if kept is not None:
            self.session.emit(Notice(kept_said(path, kept)))


def _not_finite_told(told: Failed, diverged: list[str]) -> Failed:
    """``told`` saying that the weights named ``diverged`` are not finite (a loss's divergence
    does not; the weight scan's does already)."""
    if NOT_FINITE in told.message:
        return told
    return _also(told, f"{counted(diverged)} {NOT_FINITE}, so no save can keep this model")


def _also(told: Failed, said: str) -> Failed:
    """``told`` saying ``said`` too."""
    return replace(told, message=f"{told.message}; {said}")
