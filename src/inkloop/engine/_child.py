"""The engine's child process (see `_process`): its entry point, command loop and messages.

Imported by the napari process too (for the messages and label files), so nothing heavy at
module level: torch and smp are imported in `_setup`, in the child only.
"""

from __future__ import annotations

import logging
import os
import queue
import shutil
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from inkloop.engine._events import Failed, Ready

log = logging.getLogger(__name__)


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


class LabelFiles:
    """The labels as .npy files that both processes memory-map.

    Files rather than pickles: 8192 x 14000 labels are ~230 MB, which would otherwise be
    pickled, piped and unpickled (two extra copies). Files rather than shared_memory: the
    child's Engine writes label updates straight into the mapped files, so they outlive a
    crashed child and a respawned one starts from them; Python 3.11's shared_memory would have
    the child's resource tracker unlink the block when the child dies; and /dev/shm is small
    in containers. ``applied`` holds the number of the last update the child applied: the
    proxy replays later ones to a respawned child.
    """

    def __init__(self, ink: np.ndarray, supervised: np.ndarray) -> None:
        self.shape = ink.shape
        self.folder = Path(tempfile.mkdtemp(prefix="inkloop-labels-"))
        np.save(self.folder / "ink.npy", np.asarray(ink, np.uint8))
        np.save(self.folder / "supervised.npy", np.asarray(supervised, bool))
        np.save(self.folder / "applied.npy", np.zeros(1, np.int64))
        self.applied = np.load(self.folder / "applied.npy", mmap_mode="r+")
        self._sent: list[tuple] = []  # (number, bbox, ink, supervised) maybe not applied yet
        self._count = 0
        self._lock = threading.Lock()

    @staticmethod
    def open(folder: Path) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """ink, supervised and applied, mapped read-write (in the child)."""
        names = ("ink", "supervised", "applied")
        return tuple(np.load(folder / f"{name}.npy", mmap_mode="r+") for name in names)

    def record(self, bbox, ink: np.ndarray, supervised: np.ndarray) -> tuple:
        """Number an update and keep it until the child applied it; returns the message."""
        with self._lock:
            self._count += 1
            applied = int(self.applied[0])
            self._sent = [u for u in self._sent if u[0] > applied]
            self._sent.append((self._count, bbox, ink, supervised))
            return ("labels", *self._sent[-1])

    def unapplied(self) -> list[tuple]:
        """Messages for the updates a dead child did not apply, in order."""
        with self._lock:
            applied = int(self.applied[0])
            return [("labels", *u) for u in self._sent if u[0] > applied]

    def remove(self) -> None:
        del self.applied  # unmap before deleting
        shutil.rmtree(self.folder, ignore_errors=True)


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


def child_main(spec: Spec, settings, spawned_at: float, commands, events) -> None:
    """Entry point of the child: set up, say Ready, apply commands until close or EOF."""
    outbox = Outbox(events)
    inbox: queue.Queue = queue.Queue()
    # read commands from the start, so a parent sending during our slow set-up never blocks
    reader = threading.Thread(target=_read_commands, args=(commands, inbox), daemon=True)
    reader.start()
    try:
        engine, applied = _setup(spec, settings, outbox)
    except Exception as error:
        log.exception("inkloop engine process: set-up failed")
        outbox.send(SetupFailed(f"the training process could not start: {error}"))
        return
    outbox.send(Ready(os.getpid(), time.time() - spawned_at))
    try:
        orphaned = _serve(engine, inbox, outbox, applied)
    finally:
        engine.close()
    if orphaned:  # the parent died without closing us: nobody else removes the label files
        shutil.rmtree(spec.labels, ignore_errors=True)


def _read_commands(commands, inbox: queue.Queue) -> None:
    while True:
        try:
            inbox.put(commands.recv())
        except (EOFError, OSError):  # the parent died (it sends close before closing its end)
            inbox.put(("close", "orphaned"))
            return


def _setup(spec: Spec, settings, outbox: Outbox):
    import segmentation_models_pytorch  # noqa: F401  (first of all: DESIGN §5)
    import torch

    from inkloop.engine._engine import Engine
    from inkloop.io import open_segment

    torch.set_num_threads(spec.torch_threads)
    segment = open_segment(spec.segment_path, **spec.open_options)
    ink, supervised, applied = LabelFiles.open(spec.labels)
    engine = Engine(segment, ink, supervised, settings, on_event=outbox.send)
    engine.prepare()  # normalisation sampling and the model, before the user asks for them
    engine.wait()
    return engine, applied


def _serve(engine, inbox: queue.Queue, outbox: Outbox, applied: np.ndarray) -> bool:
    """Apply commands until close; True if the parent went away without closing."""
    while (message := inbox.get())[0] != "close":
        name, *args = message
        try:
            _apply(engine, outbox, applied, name, args)
        except Exception as error:  # e.g. LabelError from start: a Failed event, as in Engine
            log.exception("inkloop engine process: %s failed", name)
            outbox.send(Failed(str(error) or type(error).__name__))
    return message == ("close", "orphaned")


def _answer_wait(engine, outbox: Outbox, token: int, timeout: float | None) -> None:
    outbox.send(Waited(token, engine.wait(timeout)))


def _apply(engine, outbox: Outbox, applied: np.ndarray, name: str, args: list) -> None:
    if name == "labels":
        number, bbox, ink, supervised = args
        engine.update_labels(ink, supervised, bbox)
        applied[0] = number
    elif name == "wait":
        # in a thread: the loop must go on taking commands (a stop) while this waits
        threading.Thread(target=_answer_wait, args=(engine, outbox, *args), daemon=True).start()
    elif name in ("predict", "preview"):
        request, *rest = args
        getattr(engine, name)(*rest, request=request)
    else:
        getattr(engine, name)(*args)
