"""The engine's child process (see `_process`; `_child_start` starts it): the parent's handle on
it, its entry point, command loop and messages.

Imported by the napari process too (for the handle and the messages), so nothing heavy at
module level: torch and smp are imported in `_setup`, in the child only.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import queue
import shutil
import threading
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from pathlib import Path

import numpy as np

from inkloop._notify import InkloopWarning
from inkloop._spawn import ignore_ctrl_c
from inkloop._torch_threads import share_cores
from inkloop.engine._arenas import cap_malloc_arenas
from inkloop.engine._child_os import (
    end_as_python_does,
    lower_priority,
    own_resource_tracker,
    signal_end,
)
from inkloop.engine._commands import Close, Command, Save, UpdateLabels, Wait
from inkloop.engine._events import Notice, Ready, failed, log_failure
from inkloop.engine._labelfiles import LabelFiles

log = logging.getLogger(__name__)
CLOSE_TIMEOUT = 20.0  # seconds the child gets to stop training and exit before it is ended


@dataclass(frozen=True)
class Waited:
    """The child's answer to a wait: ``done`` as Engine.wait returned it."""

    token: int
    done: bool


@dataclass(frozen=True)
class SetupFailed:
    """The child could not set up (import, segment, labels) and is ending."""

    message: str


@dataclass(frozen=True)
class Spec:
    """What the child sets itself up from (settings travel separately: they change on respawn)."""

    segment_path: str
    open_options: dict
    labels: Path  # folder of LabelFiles
    torch_threads: int


@dataclass(eq=False)
class ChildHandle:
    """One child process and this process's ends of its pipes."""

    process: BaseProcess
    commands: Connection
    events: Connection
    reader: threading.Thread | None = None
    alive: bool = True
    ending: bool = False  # asked to close: its end is no crash
    setup_failure: str | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)

    def send(self, command: Command) -> None:
        try:
            with self.lock:
                self.commands.send(command)
        except OSError as error:  # it died: the reader reports that
            log.warning("inkloop engine process: %r not delivered: %s", command, error)

    def reap(self) -> None:
        """Once its events pipe has ended: wait for the process (soon: the pipe closes when
        it ends) and close both pipes."""
        self.process.join()
        self.events.close()
        with self.lock:
            self.commands.close()


class Outbox:
    """The child's end of the events pipe, shared by the engine worker and wait threads."""

    def __init__(self, connection) -> None:
        self._connection = connection
        self._lock = threading.Lock()

    def send(self, message) -> None:
        try:
            with self._lock:
                self._connection.send(message)
        except OSError as error:  # the parent is gone; the command pipe's EOF ends this process
            log.warning("inkloop engine process: %s not sent: %s", type(message).__name__, error)

    def close(self) -> None:
        """Send nothing more, once a message being sent (a wait's answer) is whole."""
        self._lock.acquire()  # for good: this process exits next


def child_main(spec: Spec, settings, spawned_at: float, environ, commands, events) -> None:
    """Entry point of the child: set up, say Ready, apply commands until close or EOF, then
    exit at once; an error raised ends it as Python would (its traceback, exit code 1).
    ``environ``: the parent's environment as the child started (a forked child has another)."""
    os.environ.clear()
    os.environ.update(environ)
    cap_malloc_arenas()  # first: arenas are made as threads first allocate
    ignore_ctrl_c()  # the group's Ctrl+C: the parent closes us
    own_resource_tracker()  # before anything is shared
    # the parent still ends this process with its own (end_child, and at exit as a daemon);
    # here the flag would only forbid the training's batch workers (`ProcessBatchStream`)
    multiprocessing.current_process().daemon = False
    outbox = Outbox(events)
    forward_warnings(outbox)
    inbox: queue.Queue = queue.Queue()
    set_up = threading.Event()
    # read commands from the start, so a parent sending during our slow set-up never blocks
    args = (commands, inbox, set_up, spec.labels)
    threading.Thread(target=_read_commands, args=args, daemon=True).start()
    try:
        engine, applied = _setup(spec, settings, outbox)
    except Exception as error:  # a user's (a missing segment) in one line, a bug's traceback
        log_failure("inkloop engine process: set-up", error)
        outbox.send(SetupFailed(f"the training process could not start: {error}"))
    else:
        set_up.set()
        outbox.send(Ready(os.getpid(), time.time() - spawned_at))
        try:
            orphaned = _serve(engine, inbox, outbox, applied)
        except BaseException:
            engine.close()
            raise
        _end(engine, orphaned, spec.labels)
    end_as_python_does()  # then skip the interpreter teardown, which nobody needs
    outbox.close()
    os._exit(0)


def _end(engine, orphaned: bool, labels: Path) -> None:
    """Close ``engine``. ``orphaned`` (the parent died without closing us): remove the label
    files, which nobody else does, and exit after `CLOSE_TIMEOUT` even if the engine's work
    has not stopped (a read a server never finishes): nobody is left to end this process."""
    ended = engine.close(timeout=CLOSE_TIMEOUT if orphaned else None)
    if not orphaned:
        return
    shutil.rmtree(labels, ignore_errors=True)
    if not ended:
        log.warning(
            "inkloop engine process: its parent is gone and its work did not stop within "
            "%g s (a read a server never finishes?): exiting",
            CLOSE_TIMEOUT,
        )
        os._exit(1)


def forward_warnings(outbox: Outbox) -> None:
    """Send inkloop's own warnings to the dock as Notices as well as to this process's stderr,
    which under napari is seldom anyone's screen."""
    show = warnings.showwarning

    def show_and_forward(message, category, filename, lineno, file=None, line=None) -> None:
        show(message, category, filename, lineno, file, line)
        if issubclass(category, InkloopWarning):
            outbox.send(Notice(str(message)))

    warnings.showwarning = show_and_forward


def _read_commands(commands, inbox: queue.Queue, set_up: threading.Event, labels: Path) -> None:
    saving = False  # a Save was asked for: it waits for the set-up, even once closed
    while True:
        try:
            command = commands.recv()
        except (EOFError, OSError):  # the parent died (it sends close before closing its end)
            command = Close(orphaned=True)
        saving = saving or isinstance(command, Save)
        if isinstance(command, Close) and not (saving or set_up.is_set()):
            _quit_set_up(command, labels)
        inbox.put(command)
        if isinstance(command, Close) and command.orphaned:
            return


def _quit_set_up(close: Close, labels: Path) -> None:
    """End now, not after seconds more of imports and set-up: nothing has trained yet, so
    there is nothing to save."""
    if close.orphaned:  # nobody else removes the label files
        shutil.rmtree(labels, ignore_errors=True)
    os._exit(0)


def _setup(spec: Spec, settings, outbox: Outbox):
    import segmentation_models_pytorch  # noqa: F401  (first of all: docs/architecture §3)
    import torch

    from inkloop.engine._engine import Engine
    from inkloop.io import open_segment

    torch.set_num_threads(spec.torch_threads)
    # its threads and the core left to a GUI: every core at a local engine's default, and
    # the threads asked for + 1 where they were set (`InkLoopWidget.torch_threads`, a server)
    share_cores(spec.torch_threads + 1)
    lower_priority()
    segment = open_segment(spec.segment_path, **spec.open_options)
    ink, supervised, applied = LabelFiles.open(spec.labels)
    engine = Engine(segment, ink, supervised, settings, on_event=outbox.send)
    engine.prepare()  # normalisation sampling and the model, before the user asks for them
    engine.wait()
    return engine, applied


def _serve(engine, inbox: queue.Queue, outbox: Outbox, applied: np.ndarray) -> bool:
    """Apply commands until close; True if the parent went away without closing."""
    while not isinstance(command := inbox.get(), Close):
        try:
            _apply(engine, outbox, applied, command)
        except Exception as error:  # e.g. LabelError from start: a Failed event, as in Engine
            outbox.send(failed(f"inkloop engine process: {command!r}", error, command))
    return command.orphaned


def _answer_wait(engine, outbox: Outbox, token: int, timeout: float | None) -> None:
    outbox.send(Waited(token, engine.wait(timeout)))


def _apply(engine, outbox: Outbox, applied: np.ndarray, command: Command) -> None:
    if isinstance(command, UpdateLabels):
        engine.update_labels(command.ink, command.supervised, command.bbox)
        applied[0] = command.number
    elif isinstance(command, Wait):
        # in a thread: the loop must go on taking commands (a stop) while this waits
        args = (engine, outbox, command.token, command.timeout)
        threading.Thread(target=_answer_wait, args=args, daemon=True).start()
    else:
        engine.submit(command)


def end_child(child: ChildHandle) -> None:
    """Ask ``child`` to close; terminate it, then kill it, if it does not end in time."""
    child.ending = True
    if child.alive:
        child.send(Close())
    if threading.current_thread() is child.reader:
        return  # a listener closed: the reader ends the child once the listener returns
    # the reader thread reaps the process and closes the pipes when it ends
    for ending, timeout in ((None, CLOSE_TIMEOUT), ("terminate", 5.0), ("kill", None)):
        if ending:
            log.warning("inkloop engine process: %s pid %s", ending, child.process.pid)
            signal_end(child.process, ending)
        child.reader.join(timeout)
        if not child.reader.is_alive():
            break


class ChildCleanup:
    """Ends a proxy's current child, then removes the label files it reads at set-up.
    ``before_end(child)``, if set, runs first, on the same thread (a remote engine's copies
    being fetched finish there); it must not hold the proxy, which `weakref.finalize` ends."""

    def __init__(self, labels: LabelFiles) -> None:
        self.labels = labels
        self.child: ChildHandle | None = None  # none yet if the first could not start
        self.before_end: Callable[[ChildHandle], None] | None = None

    def start(self) -> threading.Thread | None:
        """End in a thread of its own (the child may finish its set-up or save first), not a
        daemon: an interpreter exiting then still lets the child save and end. At once with
        no child, or once Python is exiting, which would no longer wait for a new thread."""
        if self.child is None or not threading.main_thread().is_alive():
            self.run()
            return None
        thread = threading.Thread(target=self.run, name="inkloop-engine-end")
        thread.start()
        return thread

    def run(self) -> None:
        if self.child is not None:
            if self.before_end is not None:
                self.before_end(self.child)
            end_child(self.child)
        self.labels.remove()
