"""The training session: a state machine whose work runs in one background thread.

Commands (start, pause, resume, stop, predict, preview, save, close) are queued and applied
by the worker between training steps, so ``stop`` takes effect after at most the step in
flight. Predictions stream tile by tile and give way to any waiting command between tiles.
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
    State,
    StateChanged,
    StepDone,
)
from inkloop.engine._preview import Interrupt, Preview, stream_events, validate
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
        self._preview: Preview | None = None  # worker-side
        self._last_save = time.monotonic()

    @property
    def state(self) -> State:
        return self._state

    @property
    def trainer(self):
        """The Trainer once the model exists (None until a start, prepare, predict or preview)."""
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

    def prepare(self) -> None:
        """Build the model and trainer now rather than at the first start, predict or preview."""
        self._send("prepare")

    def predict(self, region: tuple[int, int, int, int], *, request: int | None = None) -> int:
        """Queue a prediction of ``region``; PredictionReady events with this request number
        follow, tile by tile. ``request``: a number to use instead of the next one."""
        request = self._number(request)
        self._send("predict", request, tuple(int(v) for v in region))
        return request

    def preview(
        self,
        region: tuple[int, int, int, int] | None,
        every: float = 3.0,
        *,
        request: int | None = None,
    ) -> int:
        """Keep ``region`` predicted: now, then every ``every`` s while training (None: stop).

        Streams like predict; a new preview abandons the one in flight between two tiles.
        """
        request = self._number(request)
        region = None if region is None else tuple(int(v) for v in region)
        self._send("preview", request, region, float(every))
        return request

    def save(self, path: str | Path) -> None:
        """Queue writing a checkpoint of the current weights; CheckpointSaved follows."""
        self._send("save", Path(path))

    def wait(self, timeout: float | None = None) -> bool:
        """Block until the commands sent so far are handled and no run is under way (not
        training or paused); False if ``timeout`` passed first. Previews are not waited for."""
        with self._changed:
            return self._changed.wait_for(
                lambda: not self._pending and not self._state.running, timeout
            )

    def close(self) -> None:
        """Stop training, finish queued commands and end the worker thread."""
        if self._thread is None:
            return
        self._send("stop")
        self._commands.put(("close",))
        self._thread.join()
        self._thread = None
        if self._trainer is not None:
            self._trainer.close()

    def __enter__(self) -> Engine:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def _number(self, request: int | None) -> int:
        self._requests = request if request is not None else self._requests + 1
        return self._requests

    def _send(self, *command) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._work, name="inkloop-engine", daemon=True)
            self._thread.start()
        with self._changed:
            self._pending += 1
        self._commands.put(command)

    def _work(self) -> None:
        while True:
            idle = self._state is not State.TRAINING and not self._preview_due()
            try:
                command = self._commands.get(block=idle)
            except queue.Empty:
                command = None
            if command is not None and command[0] == "close":
                return
            self._handle(command)

    def _handle(self, command: tuple | None) -> None:
        """Apply ``command``, or else do the next piece of work: a preview round or a step."""
        task = command[0] if command else "preview" if self._preview_due() else "step"
        try:
            if command:
                getattr(self, f"_on_{task}")(*command[1:])
            elif task == "preview":
                self._preview_round()
            else:
                self._train_step()
        except Exception as error:  # reported as Failed; the weights and labels stay intact
            log.exception("inkloop engine: %s failed", task)
            self._emit(Failed(str(error) or type(error).__name__))
            if task == "step":  # a failed step ends the run; a failed request does not
                self._set_state(State.FAILED)
            elif not command:  # a failing preview is not retried before the next request
                self._preview = None
        if command:
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

    def _on_prepare(self) -> None:
        self._ensure_trainer()

    def _on_predict(self, request: int, region: tuple[int, int, int, int]) -> None:
        if not self._stream(request, region):  # a command cut in: finish after it
            self._send("predict", request, region)

    def _on_preview(self, request: int, region, every: float) -> None:
        self._preview = None if region is None else Preview(request, region, every)

    def _preview_due(self) -> bool:
        step = self._trainer.step_count if self._trainer else 0
        training = self._state is State.TRAINING
        return self._preview is not None and self._preview.due(step, training, time.monotonic())

    def _preview_round(self) -> None:
        preview = self._preview
        step = self._ensure_trainer().step_count
        if self._stream(preview.request, preview.region):
            preview.done(step, time.monotonic())

    def _stream(self, request: int, region) -> bool:
        """Emit ``region``'s prediction tile by tile; False if a waiting command cut it short."""
        trainer = self._ensure_trainer()
        predictor, step = self.settings.predictor(trainer), trainer.step_count
        interrupt = Interrupt(self._commands)
        events = stream_events(predictor, self.segment, self.mask, region, request, step, interrupt)
        for event in events:
            self._emit(event)
        return not interrupt.cut

    def _on_save(self, path: Path) -> None:
        trainer = self._ensure_trainer()
        provenance = self.settings.checkpoint_provenance(self.segment, self.labels)
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
        trainer = self._trainer
        predictor, step = self.settings.predictor(trainer), trainer.step_count
        holdout, interrupt = self.settings.holdout, Interrupt(self._commands)
        scores = validate(predictor, self.segment, self.mask, self.labels, holdout, step, interrupt)
        if scores is not None:
            self._emit(scores)

    def _autosave(self) -> None:
        if self.settings.autosave is not None and self._trainer is not None:
            self._on_save(self.settings.autosave)

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
