"""The engine's worker: the thread that applies its commands and does its work (training
steps, prediction tiles, whole-segment blocks) between them.

It holds no reference to its `Engine`, so that an Engine dropped unclosed (a notebook cell run
again) is collected and its finalizer ends the worker. At exit, every worker still running
stops training, finishes its queued commands and ends before Python tears down under it (a
daemon thread inside torch aborts the process, and a queued save would be lost).
"""

from __future__ import annotations

import atexit
import logging
import os
import queue
import threading
from collections.abc import Callable

from inkloop.engine import _commands as c
from inkloop.engine._child import CLOSE_TIMEOUT
from inkloop.engine._events import Failed, failed
from inkloop.engine._preview import Interrupt
from inkloop.engine._requests import Predictions
from inkloop.engine._session import Session
from inkloop.engine._training import Training

log = logging.getLogger(__name__)


class Worker:
    """The engine's worker thread and what it works on: commands in, events out through the
    session. It holds no reference to its `Engine`."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self.commands: queue.Queue = queue.Queue()
        self.predictions = Predictions(session, self.commands, self.turn, self.is_closing)
        self.training = Training(
            session,
            self.predictions.preview_schedule,
            self.predictions.validate,
            Interrupt(self.commands),
        )
        self.handlers = self._command_handlers()
        self.pending = 0  # commands sent but not handled yet
        self.thread: threading.Thread | None = None  # None until the first command, and ended
        self.closing = False  # the worker ends (it took Close)
        self.closed = False  # closed: no more commands

    def send(self, command: c.Command) -> bool:
        """Queue ``command`` for the worker (started if need be); False once closed."""
        with self.session.changed:
            if self.closed:
                return False
            if self.thread is None:
                self.thread = threading.Thread(target=self.run, name="inkloop-engine", daemon=True)
                with _RUNNING_LOCK:
                    _RUNNING.add(self)
                self.thread.start()
            self._put(command)
        return True

    def end(self) -> None:
        """Take no more commands; stop training, finish those sent and end the thread (not
        waited for: `close`)."""
        with self.session.changed:
            if self.closed:
                return
            self.closed = True
            if self.thread is not None:
                self._put(c.Stop())
                self.commands.put(c.Close())

    def end_soon(self) -> None:
        """`end` on a thread of its own: what a dropped Engine's finalizer calls, which the
        garbage collector may run on any thread, this worker's too, inside a lock `end` takes."""
        threading.Thread(target=self.end, name="inkloop-engine-end").start()

    def close(self, timeout: float | None = None) -> bool:
        """`end`, then wait up to ``timeout`` s for the thread; True once it has ended."""
        self.end()
        thread = self.thread
        if thread is not None:
            thread.join(timeout)
        return thread is None or not thread.is_alive()

    def run(self) -> None:
        """The thread: commands and work until Close, then the predictions a command cut
        short (sent again behind it), then the Trainer's batch stream is closed."""
        try:
            while not self.closing:
                self.turn(wait=True)
            while not self.commands.empty():
                self._apply(self.commands.get())
        finally:
            try:
                if self.session.trainer is not None:
                    self.session.trainer.close()
            finally:
                with self.session.changed, _RUNNING_LOCK:  # as `send` starts one
                    _RUNNING.discard(self)
                    self.thread = None
                    self.session.changed.notify_all()

    def is_closing(self) -> bool:
        return self.closing

    def turn(self, wait: bool) -> bool:
        """Apply the next command, or else do the next piece of work; with ``wait``, block
        until a command comes if there is no work. False if there was nothing to do."""
        work = self._next_work()
        try:
            command = self.commands.get(block=wait and work is None)
        except queue.Empty:
            command = None
        if isinstance(command, c.Close):
            self.closing = True
            self._end_segment_jobs()
        elif command is not None:
            self._apply(command)
        elif work is not None:
            self._do(work)
        return command is not None or work is not None

    def _put(self, command: c.Command) -> None:
        with self.session.changed:
            self.pending += 1
            self.commands.put(command)

    def _command_handlers(self) -> dict[type, Callable]:
        session, training, predictions = self.session, self.training, self.predictions
        return {
            c.Start: lambda _: training.start(),
            c.Pause: lambda _: training.pause(),
            c.Resume: lambda _: training.resume(),
            c.Stop: lambda _: training.stop(),
            c.Prepare: lambda _: session.prepare(),
            c.Save: lambda command: training.save(command.path),
            c.Predict: self._predict,
            c.Preview: predictions.preview,
            c.PredictSegment: predictions.predict_segment,
            c.Cancel: predictions.cancel,
            c.Compose: predictions.compose,
            c.Rank: predictions.rank,
            c.CheckOrder: predictions.check_order,
        }

    def _end_segment_jobs(self) -> None:
        """Closing ends the whole-segment predictions asked for (hours, some), the one running
        at its next block: each is told as Failed, not dropped unsaid."""
        predictions = self.predictions
        with self.session.changed:
            jobs = [job for job in (predictions.job, *predictions.jobs) if job is not None]
            predictions.jobs.clear()
        for job in jobs:
            if not job.cancelled:  # else it says so itself
                unfinished = f"the whole-segment prediction into {job.out} was not finished"
                self.session.emit(Failed(f"{unfinished}: the engine closed", job.request))

    def _predict(self, command: c.Predict) -> None:
        if not self.predictions.predict(command):
            # a command cut in: finish after it. Once closed too: the request was accepted,
            # and `run` finishes it after Close (only predictions are sent after Close).
            self._put(command)

    def _next_work(self) -> Callable[[], None] | None:
        """What to do when no command waits: a preview round, a whole-segment prediction
        (not while training) or a training step; None: nothing."""
        if self.predictions.preview_due():
            return self.predictions.preview_round
        if self.predictions.segment_due():
            return self.predictions.run_segment
        if self.predictions.rank_due():
            return self.predictions.rank_step
        return self.training.step if self.session.training else None

    def _apply(self, command: c.Command) -> None:
        try:
            self.handlers[type(command)](command)
        except Exception as error:  # reported as Failed; the weights and labels stay intact
            self.session.emit(failed(f"inkloop engine: {command!r}", error, command))
        finally:
            with self.session.changed:
                self.pending -= 1
                self.session.changed.notify_all()

    def _do(self, work: Callable[[], None]) -> None:
        try:
            work()
        except Exception as error:
            told = failed(f"inkloop engine: {work.__name__}", error)
            if work == self.training.step:  # a failed step ends the run, its weights kept
                self.training.fail_step(told, error)
                return
            self.session.emit(told)  # a failing preview is not retried before the next request
            self.predictions.stop_preview()


# the workers whose thread runs, ended at exit: they hold no Engine, which may be gone
_RUNNING: set[Worker] = set()
_RUNNING_LOCK = threading.Lock()


def _end_workers() -> None:
    """At exit, each running worker stops training, finishes its queued commands and ends,
    within `CLOSE_TIMEOUT` s (an engine process's child gets as long)."""
    with _RUNNING_LOCK:
        workers = list(_RUNNING)
    for worker in workers:
        worker.end()
    for worker in workers:
        if not worker.close(CLOSE_TIMEOUT):
            log.warning(
                "inkloop engine: its work did not end within %g s of exit (a read a server "
                "never finishes?): Python exits under it",
                CLOSE_TIMEOUT,
            )


def _forget_workers() -> None:
    """In a forked child the workers' threads do not exist, and their locks may be held for
    ever: its exit has nothing to end."""
    global _RUNNING_LOCK
    _RUNNING_LOCK = threading.Lock()
    _RUNNING.clear()


if hasattr(os, "register_at_fork"):  # not on Windows
    os.register_at_fork(after_in_child=_forget_workers)
# threading's hook runs as the main thread ends, before Python joins threads and runs the
# atexit hooks (multiprocessing's ends the batch workers a run still reads from)
getattr(threading, "_register_atexit", atexit.register)(_end_workers)
