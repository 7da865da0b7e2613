"""Engine's training commands and steps on its worker thread.

A mixin, like `_requests.PredictionWork`: `Engine` provides the state it uses (segment,
labels, settings, the trainer, ``_emit``, ``_set_state``, ``_validate``).
"""

from __future__ import annotations

import time
from pathlib import Path

from inkloop.engine._build import checkpoint_provenance
from inkloop.engine._events import CheckpointSaved, Notice, State, StepDone
from inkloop.model import save_checkpoint


class TrainingWork:
    """The worker-side handlers of Engine's training commands (see the module docstring)."""

    def _on_start(self) -> None:
        if self._state.running:
            return
        trainer = self._ensure_trainer()
        trainer.new_run()
        self._set_state(State.TRAINING)

    def _on_pause(self) -> None:
        if self._state is State.TRAINING:
            self._set_state(State.PAUSED)

    def _on_resume(self) -> None:
        if self._state is State.PAUSED:
            self._set_state(State.TRAINING)

    def _on_stop(self) -> None:
        if self._state.running:
            self._set_state(State.STOPPED)
            self._autosave()

    def _on_prepare(self) -> None:
        self._ensure_trainer()

    def _on_save(self, path: Path) -> None:
        trainer = self._ensure_trainer()
        provenance = checkpoint_provenance(self.settings, self.segment, self.labels)
        save_checkpoint(path, trainer.checkpoint(provenance))
        self._last_save = time.monotonic()
        self._emit(CheckpointSaved(str(path), trainer.step_count))

    def _train_step(self) -> None:
        trainer = self._trainer
        began = time.monotonic()
        result = trainer.step()
        self._preview.paid(time.monotonic() - began)
        self._emit(
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
            self._emit(Notice(result.notice))
        if self.settings.holdout and trainer.run_steps % self.settings.validate_every == 0:
            self._validate()
        if time.monotonic() - self._last_save > self.settings.autosave_every:
            self._autosave()
        if trainer.finished:
            if self.settings.holdout:
                self._validate()
            self._set_state(State.FINISHED)
            self._autosave()

    def _autosave(self) -> None:
        if self.settings.autosave is not None and self._trainer is not None:
            self._on_save(self.settings.autosave)
