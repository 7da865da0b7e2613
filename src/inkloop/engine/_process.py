"""The engine in a spawned child process, behind a proxy with Engine's surface.

The napari process must never import torch (docs/architecture §3: torch._dynamo's LLVM collides with
Mesa's once a viewer exists), and training in a child process leaves the GUI more time than
in a thread. Commands go down one pipe and events come back up another, both as the
engine's own dataclasses (`_commands`, `_events`); a reader thread in this process hands the
events to the listeners.
"""

from __future__ import annotations

import itertools
import logging
import os
import threading
import time
import weakref
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import numpy as np

from inkloop._cpus import usable_cpus
from inkloop.boxes import check_box
from inkloop.engine import _commands as c
from inkloop.engine._child import (
    ChildCleanup,
    ChildHandle,
    SetupFailed,
    Spec,
    Waited,
    end_child,
)
from inkloop.engine._child_start import spawn_child
from inkloop.engine._command_methods import CommandMethods
from inkloop.engine._events import CheckpointSaved, Event, Failed, State, StateChanged
from inkloop.engine._labelfiles import LabelFiles
from inkloop.engine._surface import Announcer
from inkloop.io import ink_levels, is_binary_mask, label_arrays, mask_values
from inkloop.settings import EngineSettings

log = logging.getLogger(__name__)


class EngineProcess(CommandMethods):
    """The `EngineSurface`, with an Engine running in a spawned child process.

    The child starts at once and sets itself up (imports, segment, normalisation, model),
    then emits Ready; commands sent before are applied after. Listeners run on a reader
    thread. Differences from Engine: ``start`` with untrainable labels answers with a Failed
    event instead of raising; if the child dies, Failed and StateChanged(FAILED) follow, and
    the next start, predict, preview or save spawns a new child, which continues from the
    last checkpoint saved (if any) with the current labels.
    """

    def __init__(
        self,
        segment_path: str | Path,
        ink: np.ndarray | None,
        supervised: np.ndarray | None,
        settings: EngineSettings | None = None,
        on_event: Callable[[Event], None] | None = None,
        *,
        torch_threads: int | None = None,
        open_options: dict | None = None,
        label_files: LabelFiles | None = None,
    ) -> None:
        """``segment_path``: the segment's path or URL, which the child opens (a Segment
        cannot cross to it: TypeError); ``open_options``: keywords for
        `inkloop.io.open_segment` in the child; ``torch_threads``: default one less than the
        cores, so a GUI keeps one; ``label_files``: the labels already written by
        `write_labels` (``ink`` and ``supervised`` None then), which the engine now owns.
        Dropped unclosed, it ends its child as `close` does."""
        self.settings = settings or EngineSettings()
        self._announcer = Announcer()
        if on_event:
            self._announcer.listeners.append(on_event)
        self._changed = self._announcer.changed
        # guards replacing the child and the request numbers; reentrant, as a listener told
        # of a crash (under it, so a respawn cannot overtake the news) may call start()
        self._lock = threading.RLock()
        self._requests = 0
        self._tokens = itertools.count(1)
        self._waits: dict[int, bool | None] = {}  # tokens being waited for -> answer
        self._last_checkpoint: str | None = None
        self._closed = False
        self._ender: threading.Thread | None = None  # ends the child once closed
        self._ender_known = threading.Event()  # set once close() has started it
        location = child_location(segment_path, type(self).__name__)
        ink = None if ink is None else np.asarray(ink)  # a dask array is read once
        # patches of 0 and 1 read as the labels given (label_files are 0/255 already)
        self._binary_labels = label_files is None and is_binary_mask(ink)
        self._labels = label_files or self.write_labels(ink, supervised)
        # closed, or dropped unclosed (at the latest when Python exits): the child ends
        self._cleanup = ChildCleanup(self._labels)
        self._end = weakref.finalize(self, self._cleanup.start)
        threads = torch_threads or max(1, usable_cpus() - 1)
        options = dict(open_options or {})
        self._spec = Spec(location, options, self._labels.folder, threads)
        self._spawn(self.settings)

    @staticmethod
    def write_labels(ink: np.ndarray, supervised: np.ndarray) -> LabelFiles:
        """The labels checked and written as an engine's files (seconds at full size: a GUI
        writes them off its thread and passes them as ``label_files``)."""
        return LabelFiles(*label_arrays(ink, supervised))

    @property
    def state(self) -> State:
        """The child engine's state, as its last StateChanged said (FAILED if it died)."""
        return self._announcer.state

    @property
    def pid(self) -> int | None:
        """The child process's id."""
        return self._child.process.pid

    @property
    def alive(self) -> bool:
        """Whether the child process runs (False once it died or was closed)."""
        return self._child.alive

    def subscribe(self, listener: Callable[[Event], None]) -> None:
        self._announcer.listeners.append(listener)

    def start(self) -> None:
        """Start (or continue) training; a Failed event says if the labels cannot train."""
        self._submit(c.Start())

    def update_labels(self, ink: np.ndarray, supervised: np.ndarray, bbox) -> None:
        """Replace the labels inside ``bbox`` = (y0, x0, y1, x1); used from the next batch on."""
        y0, x0, y1, x1 = bbox = check_box(bbox, self._labels.shape, "label box")
        if ink.shape != (y1 - y0, x1 - x0) or supervised.shape != ink.shape:
            raise ValueError(f"label patch {ink.shape} does not match its box {bbox}")
        # copies: the caller may go on painting into its arrays
        ink = np.array(ink_levels(ink, binary_bytes=self._binary_labels))
        supervised = np.array(mask_values(supervised))
        with self._lock:  # numbered in the order sent, also against a respawn's replay
            self._submit(self._labels.record(bbox, ink, supervised))

    def wait(self, timeout: float | None = None) -> bool:
        """Block until the commands sent so far are handled and no run is under way; False if
        ``timeout`` passed first. True if the child has died, once the listeners were told."""
        child, token = self._child, next(self._tokens)
        if child.alive:
            with self._changed:
                self._waits[token] = None
            child.send(c.Wait(token, timeout))

            def answered() -> bool:
                return self._waits[token] is not None or not child.alive

            with self._changed:
                self._changed.wait_for(answered, timeout)
                answer = self._waits.pop(token)
            if answer is not None:  # the events before it were handed out before it
                return answer
        with self._lock:  # a child's end is reported under it: the news comes first
            return not child.alive

    def close(self) -> None:
        """Stop training and end the child process and the reader thread (idempotent), in a
        thread of its own: the child may finish its set-up or save first. `join` waits.
        Listeners hear nothing more (a dock being torn down must not)."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            self._announcer.listeners.clear()
        # not under the lock: as Python exits the child is ended on this thread, which waits
        # for the reader, which takes the lock to report the child's end
        try:
            self._ender = self._end()
        finally:  # a join() elsewhere must not wait for ever
            self._ender_known.set()

    def join(self, timeout: float | None = None) -> bool:
        """After `close`, wait until the child process and the threads here have ended;
        False if ``timeout`` passed first."""
        if not self._closed:
            raise RuntimeError("join() waits for an engine being closed: close() it first")
        deadline = None if timeout is None else time.monotonic() + timeout
        if not self._ender_known.wait(timeout):  # another thread is closing it
            return False
        if self._ender is not None:  # else it ended at once, as Python was exiting
            self._ender.join(None if deadline is None else max(0, deadline - time.monotonic()))
        return self._ender is None or not self._ender.is_alive()

    def __enter__(self) -> EngineProcess:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
        self.join()

    def _number(self) -> int:
        with self._lock:
            self._requests += 1
            return self._requests

    def _submit(self, command: c.Command) -> None:
        with self._lock:
            if self._closed:
                raise RuntimeError("the engine process is closed")
            if not self._child.alive and isinstance(command, c.RESPAWNING):
                self._respawn()
            child = self._child
        if child.alive:
            child.send(command)
        else:  # nothing to pause or stop; label updates reach the next child
            log.debug("inkloop engine process: %r ignored, the process has ended", command)

    def _spawn(self, settings: EngineSettings) -> None:
        child = self._start_child(settings)
        self._announcer.set_state(State.IDLE)  # first: the state the new child tells wins
        # with only a weak reference to this proxy: one dropped unclosed ends its child
        args = (weakref.ref(self), child)
        child.reader = threading.Thread(
            target=_read, args=args, name="inkloop-engine-events", daemon=True
        )
        child.reader.start()
        self._child = self._cleanup.child = child

    def _start_child(self, settings: EngineSettings) -> ChildHandle:
        """A running engine child: spawned here (an engine server connects to one instead)."""
        return spawn_child(self._spec, settings)

    def _respawn(self) -> None:
        """A new child for a dead one: last checkpoint, current labels (called under _lock)."""
        end_child(self._child)
        init = Path(self._last_checkpoint) if self._last_checkpoint else self.settings.init
        self._spawn(replace(self.settings, init=init))
        for update in self._labels.unapplied():
            self._child.send(update)

    def _child_ended(self, child: ChildHandle) -> None:
        """``child`` has ended: report it if nobody asked it to (under _lock, which `wait`
        takes before it returns for a dead child)."""
        with self._lock:
            with self._changed:
                child.alive = False  # first: a listener told of the end may start a new child
                self._changed.notify_all()
            if not child.ending:
                self._report_end(child)

    def _receive(self, child: ChildHandle, message) -> None:
        if isinstance(message, Waited):
            with self._changed:
                if message.token in self._waits:  # else its wait timed out already
                    self._waits[message.token] = message.done
                    self._changed.notify_all()
            return
        if isinstance(message, SetupFailed):
            child.setup_failure = message.message
            return
        if isinstance(message, StateChanged):
            with self._changed:
                self._announcer.state = message.state
                self._changed.notify_all()
        elif isinstance(message, CheckpointSaved):
            self._last_checkpoint = message.path
        self._announcer.emit(message)

    def _report_end(self, child: ChildHandle) -> None:
        message = child.setup_failure or (
            f"the training process ended unexpectedly (exit code {child.process.exitcode}); "
            f"labels are safe, the last checkpoint is {self._last_checkpoint or 'none'}"
        )
        log.error("inkloop engine process: %s", message)
        self._announcer.emit(Failed(message))
        self._announcer.set_state(State.FAILED)


def child_location(segment_path, engine: str) -> str:
    """``segment_path`` (a path or URL) as the child opens it; TypeError for anything else."""
    if isinstance(segment_path, (str, os.PathLike)):
        return str(segment_path)
    raise TypeError(
        f"{engine} takes the segment's path or URL, not a {type(segment_path).__name__}: "
        "its process opens the segment itself (open_options takes z_start, z_count, reverse)"
    )


def _read(proxy: weakref.ref, child: ChildHandle) -> None:
    """The reader thread: events to the proxy until EOF, then its end. It holds the proxy
    only while handing it one message, so that a proxy dropped unclosed can be collected."""
    while True:
        try:
            message = child.events.recv()
        except (EOFError, OSError):
            break
        if (owner := proxy()) is not None:
            owner._receive(child, message)
        owner = None
    child.reap()
    if (owner := proxy()) is not None:
        owner._child_ended(child)
    else:
        child.alive = False
