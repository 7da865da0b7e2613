"""The training session: a state machine whose work runs in one background thread.

Commands (start, pause, resume, stop, predict, preview, save, close, ...) are queued and
applied by the worker between training steps, so ``stop`` takes effect after at most the step
in flight. Predictions stream tile by tile and give way to any waiting command between tiles;
a whole-segment prediction hands the worker back between its blocks (see `_jobs`). Label
updates go straight into the thread-safe LabelStore and reach the next batch. Everything the
worker has to say comes out as events (see `_events`), delivered to the listeners on the
worker thread.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections import deque
from collections.abc import Callable
from pathlib import Path

import numpy as np

from inkloop.engine._build import build_trainer
from inkloop.engine._events import Event, Failed, State, StateChanged
from inkloop.engine._jobs import SegmentJob, checked_output
from inkloop.engine._preview import PreviewSchedule
from inkloop.engine._requests import REQUESTS, PredictionWork, error_message
from inkloop.engine._training import TrainingWork
from inkloop.settings import EngineSettings
from inkloop.train import LabelStore

log = logging.getLogger(__name__)


class Engine(TrainingWork, PredictionWork):
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
        self._preview = PreviewSchedule(self.settings.preview_share)  # worker-side
        self._jobs: deque[SegmentJob] = deque()  # whole-segment predictions not started yet
        self._job: SegmentJob | None = None  # the one running
        self._closing = False
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
        """Replace the labels inside ``bbox`` = (y0, x0, y1, x1); used from the next batch on
        (and the preview refreshes there first)."""
        self.labels.update(ink, supervised, bbox)
        self._preview.stroke = tuple(int(v) for v in bbox)

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
        """Keep ``region`` predicted: now, then again once the weights changed, at most every
        ``every`` s and within the preview's share of the time while training (None: stop).

        Streams like predict, a tile batch per turn between training steps; a new preview
        replaces the one in flight (see `PreviewSchedule`).
        """
        request = self._number(request)
        region = None if region is None else tuple(int(v) for v in region)
        self._send("preview", request, region, float(every))
        return request

    def predict_segment(
        self, out: str | Path, fmt: str | None = None, tta: bool = False, *, request=None
    ) -> int:
        """Queue predicting the whole segment into ``out`` (PNG, TIFF or zarr; ``fmt`` "png",
        "tif" or "zarr" sets its suffix); ValueError now if ``out`` cannot be written.

        SegmentProgress events follow, then SegmentPredicted (or Failed). It uses the weights
        of its start and runs while training does not: asked for during training, it starts
        once training is paused or stopped, and it waits again while training is resumed.
        Commands are applied between its blocks; `cancel` ends it with a Notice.
        """
        out = checked_output(out, fmt)
        request = self._number(request)
        self._send("predict_segment", request, out, bool(tta))
        return request

    def cancel(self, request: int) -> None:
        """End the whole-segment prediction ``request`` (running or queued): a Notice follows."""
        self._send("cancel", int(request))

    def compose(self, region: tuple[int, int, int, int], *, request: int | None = None) -> int:
        """Queue reading the model's input over ``region`` (at most 2048 x 2048 pixels); a
        Composed event with the returned request number follows."""
        request = self._number(request)
        self._send("compose", request, tuple(int(v) for v in region))
        return request

    def save(self, path: str | Path) -> None:
        """Queue writing a checkpoint of the current weights; CheckpointSaved follows."""
        self._send("save", Path(path))

    def wait(self, timeout: float | None = None) -> bool:
        """Block until the commands sent so far are handled, no run is under way (not
        training or paused) and no whole-segment prediction is left; False if ``timeout``
        passed first. Previews are not waited for."""

        def done() -> bool:
            busy = self._pending or self._jobs or self._job is not None
            return not busy and not self._state.running

        with self._changed:
            return self._changed.wait_for(done, timeout)

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
        while not self._closing:
            self._turn(wait=True)

    def _turn(self, wait: bool) -> None:
        """Apply the next command, or else do the next piece of work; with ``wait``, block
        until a command comes if there is no work."""
        try:
            command = self._commands.get(block=wait and self._next_work() is None)
        except queue.Empty:
            command = None
        if command is not None and command[0] == "close":
            self._closing = True
        else:
            self._handle(command)

    def _next_work(self) -> str | None:
        """What to do when no command waits: a preview round, a whole-segment prediction
        (not while training) or a training step; None: nothing."""
        if self._preview_due():
            return "preview"
        if self._jobs and self._job is None and self._state is not State.TRAINING:
            return "segment"
        return "step" if self._state is State.TRAINING else None

    def _handle(self, command: tuple | None) -> None:
        """Apply ``command``, or else do the next piece of work (see `_next_work`)."""
        task = command[0] if command else self._next_work()
        work = {"preview": self._preview_round, "segment": self._run_segment}
        try:
            if command:
                getattr(self, f"_on_{task}")(*command[1:])
            elif task is not None:
                work.get(task, self._train_step)()
        except Exception as error:  # reported as Failed; the weights and labels stay intact
            log.exception("inkloop engine: %s failed", task)
            request = command[1] if command and task in REQUESTS else None
            self._emit(Failed(error_message(error), request))
            if task == "step":  # a failed step ends the run; a failed request does not
                self._set_state(State.FAILED)
            elif not command:  # a failing preview is not retried before the next request
                self._preview.aim(None, None, 0.0)
        if command:
            with self._changed:
                self._pending -= 1
                self._changed.notify_all()

    def _ensure_trainer(self):
        if self._trainer is None:
            self._trainer = build_trainer(self.settings, self.segment, self.labels, self.mask)
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
