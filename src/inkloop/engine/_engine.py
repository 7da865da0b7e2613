"""The training session: a state machine whose work runs in one background thread.

Commands (`_commands`) are queued and applied by the worker between training steps, so a
stop takes effect after at most the step in flight. Predictions stream tile by tile and give
way to any waiting command between tiles; a whole-segment prediction hands the worker back
between its blocks (see `_jobs`). Label updates go straight into the thread-safe LabelStore
and reach the next batch. Everything the worker has to say comes out as events (`_events`),
delivered to the listeners on the worker thread. The work itself lives in `Training` and
`Predictions`, which share a `Session`.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable

import numpy as np

from inkloop.engine import _commands as c
from inkloop.engine._command_methods import CommandMethods
from inkloop.engine._events import Event, State, failed
from inkloop.engine._preview import Interrupt
from inkloop.engine._requests import Predictions
from inkloop.engine._session import Session
from inkloop.engine._training import Training
from inkloop.io import as_segment
from inkloop.settings import EngineSettings
from inkloop.train import LabelStore

log = logging.getLogger(__name__)
CLOSED = "the engine is closed"


class Engine(CommandMethods):
    """Finetune a model on a segment's labels in the background and predict regions on demand
    (the `EngineSurface`, in a thread of this process).

    ``segment``: a Segment, or its path or URL (opened with `inkloop.io.open_segment`).
    RequestError (a ValueError) if ``settings.autosave`` is a file the session reads.
    """

    def __init__(
        self,
        segment,
        ink: np.ndarray,
        supervised: np.ndarray,
        settings: EngineSettings | None = None,
        on_event: Callable[[Event], None] | None = None,
    ) -> None:
        segment = as_segment(segment)
        settings = settings or EngineSettings()
        labels = LabelStore(
            ink, supervised, settings.validation, settings.provenance, shape=segment.shape[1:]
        )
        self._session = session = Session(segment, labels, settings)
        if settings.autosave is not None:  # refused now, not at the first autosave
            session.refuse_output(settings.autosave)
        if on_event:
            session.listeners.append(on_event)
        self._commands: queue.Queue = queue.Queue()
        self._predictions = Predictions(session, self._commands, self._turn, self._is_closing)
        self._training = Training(
            session,
            self._predictions.preview_schedule,
            self._predictions.validate,
            Interrupt(self._commands),
        )
        self._handlers = self._command_handlers()
        self._requests = 0
        self._pending = 0  # commands sent but not handled yet
        self._thread: threading.Thread | None = None
        self._closing = False  # the worker ends (it took Close)
        self._closed = False  # closed: no more commands

    segment = property(lambda self: self._session.segment)
    labels = property(lambda self: self._session.labels)
    mask = property(lambda self: self._session.mask)
    settings = property(lambda self: self._session.settings)

    @property
    def state(self) -> State:
        return self._session.state

    @property
    def trainer(self):
        """The Trainer once the model exists (None until a start, prepare, predict or preview)."""
        return self._session.trainer

    def subscribe(self, listener: Callable[[Event], None]) -> None:
        self._session.listeners.append(listener)

    def submit(self, command: c.Command) -> None:
        """Queue ``command`` (what the request methods do). Raises TypeError for a command the
        engine does not know, LabelError for a Start whose labels cannot train, and
        RuntimeError once the engine is closed."""
        if type(command) not in self._handlers:
            raise TypeError(f"the engine has no command {type(command).__name__}")
        self._refuse_closed()
        if isinstance(command, c.Start):
            self.labels.check_trainable(self.mask)
        if not self._send(command):  # closed meanwhile
            raise RuntimeError(CLOSED)

    _submit = submit

    def start(self) -> None:
        """Start (or continue) training. Raises LabelError now if the labels cannot train."""
        self.submit(c.Start())

    def update_labels(self, ink: np.ndarray, supervised: np.ndarray, bbox) -> None:
        """Replace the labels inside ``bbox`` = (y0, x0, y1, x1); used from the next batch on
        (and the preview refreshes there first)."""
        self._refuse_closed()
        self.labels.update(ink, supervised, bbox)
        self._predictions.preview_schedule.stroke = tuple(int(v) for v in bbox)

    def prepare(self) -> None:
        """Build the model, trainer and preview graph now rather than at the first start,
        predict or preview."""
        self.submit(c.Prepare())

    def wait(self, timeout: float | None = None) -> bool:
        """Block until the commands sent so far are handled, no run is under way (not
        training or paused) and no whole-segment prediction is left; False if ``timeout``
        passed first. Previews are not waited for."""

        def done() -> bool:
            if self._closed and self._thread is None:
                return True  # nothing more will be handled
            busy = self._pending or self._predictions.busy
            return not busy and not self.state.running

        with self._session.changed:
            return self._session.changed.wait_for(done, timeout)

    def close(self, timeout: float | None = None) -> bool:
        """Stop training, finish queued commands and end the worker thread (idempotent); any
        request after raises RuntimeError. True once the worker has ended; False if it is
        still at work after ``timeout`` s (stuck in a read a server never finishes): it then
        ends with the process, a daemon thread."""
        with self._session.changed:
            thread = self._thread
            if self._closed:
                return thread is None or not thread.is_alive()
            if thread is not None:
                self._send(c.Stop())
                self._commands.put(c.Close())
            self._closed = True
        if thread is None:
            return True
        thread.join(timeout)
        if thread.is_alive():
            return False
        with self._session.changed:
            self._thread = None
            self._session.changed.notify_all()
        if self.trainer is not None:
            self.trainer.close()
        return True

    def __enter__(self) -> Engine:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def _command_handlers(self) -> dict[type, Callable]:
        training, predictions = self._training, self._predictions
        return {
            c.Start: lambda _: training.start(),
            c.Pause: lambda _: training.pause(),
            c.Resume: lambda _: training.resume(),
            c.Stop: lambda _: training.stop(),
            c.Prepare: lambda _: self._session.prepare(),
            c.Save: lambda command: training.save(command.path),
            c.Predict: self._predict,
            c.Preview: predictions.preview,
            c.PredictSegment: predictions.predict_segment,
            c.Cancel: predictions.cancel,
            c.Compose: predictions.compose,
            c.Rank: predictions.rank,
            c.CheckOrder: predictions.check_order,
        }

    def _predict(self, command: c.Predict) -> None:
        if not self._predictions.predict(command):
            self._send(command)  # a command cut in: finish after it (dropped once closed)

    def _number(self) -> int:
        self._requests += 1
        return self._requests

    def _is_closing(self) -> bool:
        return self._closing

    def _refuse_closed(self) -> None:
        if self._closed:
            raise RuntimeError(CLOSED)

    def _send(self, command: c.Command) -> bool:
        """Queue ``command`` for the worker (started if need be); False once closed."""
        with self._session.changed:
            if self._closed:
                return False
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._work, name="inkloop-engine", daemon=True
                )
                self._thread.start()
            self._pending += 1
            self._commands.put(command)
        return True

    def _work(self) -> None:
        while not self._closing:
            self._turn(wait=True)

    def _turn(self, wait: bool) -> bool:
        """Apply the next command, or else do the next piece of work; with ``wait``, block
        until a command comes if there is no work. False if there was nothing to do."""
        work = self._next_work()
        try:
            command = self._commands.get(block=wait and work is None)
        except queue.Empty:
            command = None
        if isinstance(command, c.Close):
            self._closing = True
        elif command is not None:
            self._apply(command)
        elif work is not None:
            self._do(work)
        return command is not None or work is not None

    def _next_work(self) -> Callable[[], None] | None:
        """What to do when no command waits: a preview round, a whole-segment prediction
        (not while training) or a training step; None: nothing."""
        if self._predictions.preview_due():
            return self._predictions.preview_round
        if self._predictions.segment_due():
            return self._predictions.run_segment
        if self._predictions.rank_due():
            return self._predictions.rank_step
        return self._training.step if self._session.training else None

    def _apply(self, command: c.Command) -> None:
        try:
            self._handlers[type(command)](command)
        except Exception as error:  # reported as Failed; the weights and labels stay intact
            self._session.emit(failed(f"inkloop engine: {command!r}", error, command))
        finally:
            with self._session.changed:
                self._pending -= 1
                self._session.changed.notify_all()

    def _do(self, work: Callable[[], None]) -> None:
        try:
            work()
        except Exception as error:
            self._session.emit(failed(f"inkloop engine: {work.__name__}", error))
            if work == self._training.step:  # a failed step ends the run, its weights kept
                self._session.set_state(State.FAILED)
                self._training.autosave()  # a server's error, say: the steps before it count
            else:  # a failing preview is not retried before the next request
                self._predictions.stop_preview()
