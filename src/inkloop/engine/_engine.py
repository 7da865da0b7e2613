"""The training session: a state machine whose work runs in one background thread.

Commands (`_commands`) are queued and applied by the worker between training steps, so a
stop takes effect after at most the step in flight. Predictions stream tile by tile and give
way to any waiting command between tiles; a whole-segment prediction hands the worker back
between its blocks (see `_jobs`). Label updates go straight into the thread-safe LabelStore
and reach the next batch. Everything the worker has to say comes out as events (`_events`),
delivered to the listeners on the worker thread. The work itself lives in `Training` and
`Predictions`, which share a `Session`, and its thread in `Worker`.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable

import numpy as np

from inkloop.engine import _commands as c
from inkloop.engine._command_methods import CommandMethods
from inkloop.engine._events import Event, State
from inkloop.engine._session import Session
from inkloop.engine._worker import Worker
from inkloop.io import as_segment
from inkloop.settings import EngineSettings
from inkloop.train import LabelStore

CLOSED = "the engine is closed"


class Engine(CommandMethods):
    """Finetune a model on a segment's labels in the background and predict regions on demand
    (the `EngineSurface`, in a thread of this process).

    ``segment``: a Segment, or its path or URL (opened with `inkloop.io.open_segment`).
    RequestError (a ValueError) if ``settings.autosave`` is a file the session reads. A
    Failed event that no listener hears is logged as a warning. Dropped unclosed (unless a
    listener holds it), it stops training and ends its thread; at exit, it is closed.
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
        self._worker = Worker(session)
        self._requests = 0
        # dropped unclosed, it ends its worker; at exit, `_end_workers` does
        weakref.finalize(self, self._worker.end_soon).atexit = False

    segment = property(lambda self: self._session.segment)
    labels = property(lambda self: self._session.labels)
    mask = property(lambda self: self._session.mask)
    settings = property(lambda self: self._session.settings)
    _thread = property(lambda self: self._worker.thread)  # None until a command, and ended

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
        if type(command) not in self._worker.handlers:
            raise TypeError(f"the engine has no command {type(command).__name__}")
        self._refuse_closed()
        if isinstance(command, c.Start):
            self.labels.check_trainable(self.mask)
        if not self._worker.send(command):  # closed meanwhile
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
        self._worker.predictions.preview_schedule.stroke = tuple(int(v) for v in bbox)

    def prepare(self) -> None:
        """Build the model, trainer and preview graph now rather than at the first start,
        predict or preview."""
        self.submit(c.Prepare())

    def wait(self, timeout: float | None = None) -> bool:
        """Block until the commands sent so far are handled, no run is under way (not
        training or paused) and no whole-segment prediction is left; False if ``timeout``
        passed first. Previews are not waited for."""
        worker = self._worker

        def done() -> bool:
            if worker.closed and worker.thread is None:
                return True  # nothing more will be handled
            busy = worker.pending or worker.predictions.busy
            return not busy and not self.state.running

        with self._session.changed:
            return self._session.changed.wait_for(done, timeout)

    def close(self, timeout: float | None = None) -> bool:
        """Stop training, finish the commands sent and the predictions asked for (a
        whole-segment prediction ends at its next block, with a Failed event) and end the
        worker thread (idempotent); any request after raises RuntimeError. True once it has
        ended; False if it is still at work after ``timeout`` s (stuck in a read a server
        never finishes): Python's exit gives it `CLOSE_TIMEOUT` s more, then ends under it."""
        worker = self._worker
        if worker.closed:  # closed before: not waited for again
            thread = worker.thread
            return thread is None or not thread.is_alive()
        return worker.close(timeout)

    def __enter__(self) -> Engine:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def _number(self) -> int:
        self._requests += 1
        return self._requests

    def _refuse_closed(self) -> None:
        if self._worker.closed:
            raise RuntimeError(CLOSED)
