"""Labels shared by the napari process and the engine's child process as mapped files."""

from __future__ import annotations

import os
import shutil
import tempfile
import threading
from pathlib import Path

import numpy as np

from inkloop._locks import LOCKS, orphaned, try_lock
from inkloop.engine._commands import UpdateLabels

PREFIX = "inkloop-labels-"
OWNER = "owner.lock"  # held by the process that made the folder, for as long as it lives
# this process's own folders, never tested for orphans: on NFS a lock is the process's, so
# testing one of its own would succeed, and closing the test's handle would let go of it
_OURS: set[Path] = set()


class LabelFiles:
    """The labels as .npy files that both processes memory-map.

    Files rather than pickles: 8192 x 14000 labels are ~230 MB, which would otherwise be
    pickled, piped and unpickled (two extra copies). Files rather than shared_memory: the
    child's Engine writes label updates straight into the mapped files, so they outlive a
    crashed child and a respawned one starts from them; Python 3.11's shared_memory would have
    the child's resource tracker unlink the block when the child dies; and /dev/shm is small
    in containers. ``applied`` holds the number of the last update the child applied: the
    proxy replays later ones to a respawned child. The folders of processes that ended
    without removing theirs (killed, crashed: ~230 MB each) are removed by the next one.
    """

    def __init__(self, ink: np.ndarray, supervised: np.ndarray) -> None:
        self.shape = ink.shape
        _remove_orphans()
        self.folder = Path(tempfile.mkdtemp(prefix=PREFIX))
        _OURS.add(self.folder)
        self._owner = None
        try:
            self._owner = _own(self.folder)
            np.save(self.folder / "ink.npy", np.asarray(ink, np.uint8))
            np.save(self.folder / "supervised.npy", np.asarray(supervised, bool))
            np.save(self.folder / "applied.npy", np.zeros(1, np.int64))
            self.applied = np.load(self.folder / "applied.npy", mmap_mode="r+")
        except BaseException:  # a full disk, say: no part-written folder left on it
            self._discard_folder()
            raise
        self._sent: list[UpdateLabels] = []  # maybe not applied yet
        self._count = 0
        self._lock = threading.Lock()

    @staticmethod
    def open(folder: Path) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """ink, supervised and applied, mapped read-write (in the child)."""
        names = ("ink", "supervised", "applied")
        return tuple(np.load(folder / f"{name}.npy", mmap_mode="r+") for name in names)

    def record(self, bbox, ink: np.ndarray, supervised: np.ndarray) -> UpdateLabels:
        """Number an update and keep it until the child applied it; returns the command."""
        with self._lock:
            self._count += 1
            applied = int(self.applied[0])
            self._sent = [u for u in self._sent if u.number > applied]
            self._sent.append(UpdateLabels(self._count, bbox, ink, supervised))
            return self._sent[-1]

    def unapplied(self) -> list[UpdateLabels]:
        """The updates a dead child did not apply, in order."""
        with self._lock:
            applied = int(self.applied[0])
            return [u for u in self._sent if u.number > applied]

    def remove(self) -> None:
        """Delete the files (idempotent: a served session's end and its engine's may meet)."""
        with self._lock:
            if not hasattr(self, "applied"):
                return
            del self.applied  # unmap before deleting
            self._discard_folder()

    def _discard_folder(self) -> None:
        shutil.rmtree(self.folder, ignore_errors=True)
        _OURS.discard(self.folder)
        if self._owner is not None:  # only now: until then no other process may take it
            self._owner.close()


def _own(folder: Path):
    """The lock file of ``folder``, locked by this process; it appears under its name
    already locked, so another process never finds it unheld. Without flock (Windows) it
    holds this process's id, whole once it appears (`orphaned` reads it), and None is returned."""
    pending = folder / f"{OWNER}.new"
    if not LOCKS:
        pending.write_text(f"{os.getpid()}\n")
        pending.rename(folder / OWNER)
        return None
    file = open(pending, "a")  # noqa: SIM115 (held until remove)
    try:
        try_lock(file)  # a new file: no one else holds it
    except OSError:  # a file system that takes no locks: the folder is never swept
        file.close()
        pending.unlink()
        return None
    pending.rename(folder / OWNER)
    return file


def _remove_orphans() -> None:
    for folder in Path(tempfile.gettempdir()).glob(f"{PREFIX}*"):
        if folder not in _OURS and orphaned(folder / OWNER):
            shutil.rmtree(folder, ignore_errors=True)
