"""The training session: a state machine whose work runs in one background thread.

Commands (start, pause, resume, stop, predict, save, close) are queued and applied by the
worker between training steps, so ``stop`` takes effect after at most the step in flight.
Label updates go straight into the thread-safe LabelStore and reach the next batch.
Everything the worker has to say comes out as events (see `_events`), delivered to the
listeners on the worker thread.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from inkloop.engine._events import (
    CheckpointSaved,
    Event,
    Failed,
    Notice,
    PredictionReady,
    State,
    StateChanged,
    StepDone,
    Validated,
)
from inkloop.engine._settings import EngineSettings
from inkloop.model import save_checkpoint
from inkloop.train import LabelStore

log = logging.getLogger(__name__)


class Engine:
    """Finetune a model on a segment's labels in the background and predict regions on demand."""

    def __init__(
        self,
        segment,
        ink: np.ndarray,
        supervised: np.ndarray,
        settings: EngineSettings | None = None,
        on_event: Callable[[Event], None] | None = None,
    ) -> None:
        self.segment = segment
        self.settings = settings or EngineSettings()
        self.labels = LabelStore(ink, supervised, self.settings.holdout)
        self.mask = None if segment.mask is None else np.asarray(segment.mask)
        self._listeners = [on_event] if on_event else []
        self._state = State.IDLE
        self._changed = threading.Condition()
        self._commands: queue.Queue = queue.Queue()
        self._requests = 0
        self._pending = 0  # commands sent but not handled yet
        self._thread: threading.Thread | None = None
        self._trainer = None
        self._last_save = time.monotonic()

    @property
    def state(self) -> State:
        return self._state

    @property
    def trainer(self):
        """The Trainer once the model exists (None before the first start or predict)."""
        return self._trainer

    def subscribe(self, listener: Callable[[Event], None]) -> None:
        self._listeners.append(listener)

    def start(self) -> None:
        """Start (or continue) training. Raises LabelError now if the labels cannot train."""
        self.labels.check_trainable()
        self._send("start")

    def pause(self) -> None:
        self._send("pause")

    def resume(self) -> None:
        self._send("resume")

    def stop(self) -> None:
        """End the run after the step in flight; the weights stay for predict and save."""
        self._send("stop")

    def update_labels(self, ink: np.ndarray, supervised: np.ndarray, bbox) -> None:
        """Replace the labels inside ``bbox`` = (y0, x0, y1, x1); used from the next batch on."""
        self.labels.update(ink, supervised, bbox)

    def predict(self, region: tuple[int, int, int, int]) -> int:
        """Queue a prediction of ``region``; a PredictionReady with this request number follows."""
        self._requests += 1
        self._send("predict", self._requests, tuple(int(v) for v in region))
        return self._requests

    def save(self, path: str | Path) -> None:
        """Queue writing a checkpoint of the current weights; CheckpointSaved follows."""
        self._send("save", Path(path))

    def wait(self, timeout: float | None = None) -> bool:
        """Block until the commands sent so far are handled and no run is under way (not
        training or paused); False if ``timeout`` passed first."""
        with self._changed:
            return self._changed.wait_for(
                lambda: not self._pending and not self._state.running, timeout
            )

    def close(self) -> None:
        """Stop training, finish queued commands and end the worker thread."""
        if self._thread is None:
            return
        self._commands.put(("stop",))
        self._commands.put(("close",))
        self._thread.join()
        self._thread = None
        if self._trainer is not None:
            self._trainer.close()

    def __enter__(self) -> Engine:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def _send(self, *command) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._work, name="inkloop-engine", daemon=True)
            self._thread.start()
        with self._changed:
            self._pending += 1
        self._commands.put(command)

    def _work(self) -> None:
        while True:
            try:
                command = self._commands.get(block=self._state is not State.TRAINING)
            except queue.Empty:
                command = None
            try:
                if command is None:
                    self._train_step()
                elif command[0] == "close":
                    return
                else:
                    getattr(self, f"_on_{command[0]}")(*command[1:])
            except Exception as error:  # reported as Failed; the weights and labels stay intact
                log.exception("inkloop engine: %s failed", command[0] if command else "step")
                self._emit(Failed(str(error) or type(error).__name__))
                if command is None:  # a failed step ends the run; a failed request does not
                    self._set_state(State.FAILED)
            if command is not None:
                with self._changed:
                    self._pending -= 1
                    self._changed.notify_all()

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

    def _on_predict(self, request: int, region: tuple[int, int, int, int]) -> None:
        probability = self._predictor().predict_region(self.segment, region, self.mask)
        self._emit(PredictionReady(request, region, self._trainer.step_count, probability))

    def _on_save(self, path: Path) -> None:
        trainer = self._ensure_trainer()
        provenance = {
            "segment": self.segment.name,
            "segment_path": str(self.segment.path),
            "segment_layers": self.segment.shape[0],
            "labels": self.labels.summary(),
            **self.settings.provenance,
        }
        save_checkpoint(path, trainer.checkpoint(provenance))
        self._last_save = time.monotonic()
        self._emit(CheckpointSaved(str(path), trainer.step_count))

    def _train_step(self) -> None:
        trainer = self._trainer
        result = trainer.step()
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

    def _validate(self) -> None:
        from inkloop.metrics import best_scores

        trainer = self._trainer
        y0, x0, y1, x1 = self.settings.holdout
        supervised = self.labels.supervised[y0:y1, x0:x1]
        if not supervised.any():
            return
        probability = self._predictor().predict_region(self.segment, (y0, x0, y1, x1), self.mask)
        scores = best_scores(probability, self.labels.ink[y0:y1, x0:x1], supervised)
        self._emit(
            Validated(
                trainer.step_count, scores.f05, scores.precision, scores.recall, scores.threshold
            )
        )

    def _autosave(self) -> None:
        if self.settings.autosave is not None and self._trainer is not None:
            self._on_save(self.settings.autosave)

    def _predictor(self):
        """The model being trained, as a Predictor (weights shared, not copied)."""
        from inkloop.predict import Predictor

        trainer = self._ensure_trainer()
        return Predictor(trainer.model, trainer.composition, trainer.normalisation)

    def _ensure_trainer(self):
        if self._trainer is None:
            self._trainer = self.settings.build_trainer(self.segment, self.labels, self.mask)
        return self._trainer

    def _set_state(self, state: State) -> None:
        with self._changed:
            previous, self._state = self._state, state
            self._changed.notify_all()
        if state is not previous:
            self._emit(StateChanged(state, previous))

    def _emit(self, event: Event) -> None:
        for listener in list(self._listeners):
            try:
                listener(event)
            except Exception:  # a broken listener must not take the engine down with it
                log.exception("inkloop engine: listener %r failed on %r", listener, event)
