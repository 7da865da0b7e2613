"""File locks the system lets go of when their process ends, however it ends (POSIX flock).

Windows has no flock: there nothing is claimed, nothing is found orphaned or held by
another process, and `locked` blocks run unlocked, as before locks were taken."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

from inkloop._notify import notify

try:
    import fcntl
except ImportError:  # Windows: nothing is claimed, nothing is found orphaned
    fcntl = None

LOCKS = fcntl is not None


def try_lock(file) -> bool:
    """Lock the open ``file`` for this process, until it is closed or the process ends;
    False if another process holds it (OSError where the file system takes no locks)."""
    try:
        fcntl.flock(file, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    return True


def orphaned(path: Path) -> bool:
    """Whether the lock file ``path`` is there and no process holds it: its owner ended
    without removing what the lock guards (killed, crashed)."""
    if not LOCKS:
        return False
    try:
        file = open(path, "r+")  # noqa: SIM115 (closed below, releasing the lock)
    except OSError:  # not there (yet), or another user's
        return False
    with file:
        try:
            return try_lock(file)
        except OSError:  # a file system that takes no locks (some NFS mounts): who can say
            return False


@contextlib.contextmanager
def locked(path: Path):
    """Hold the lock file ``path`` (created if missing, and left there: removing it would let
    two processes lock two files of one name) for the block, waiting while another process
    holds it. Where files take no locks (Windows, some NFS mounts) the block runs unlocked."""
    with _open_lock(path) as file:
        if LOCKS:
            try:
                fcntl.flock(file, fcntl.LOCK_EX)
            except OSError as error:
                notify(f"{path} cannot be locked ({error}): going on unlocked")
        yield


def claim(path: Path):
    """Lock the file ``path`` (created if missing) for this process, without waiting, and
    write this process's id in it: the open file, whose closing lets go, or None if another
    process holds it (`holder` names it). Where files take no locks (Windows, some NFS
    mounts) the file is returned unlocked: nothing can be known of other processes there."""
    file = _open_lock(path)
    try:
        if LOCKS and not try_lock(file):
            file.close()
            return None
    except OSError as error:  # a file system that takes no locks
        notify(f"{path} cannot be locked ({error}): going on unlocked")
        return file
    if file.writable():  # another user's lock file is only read: no process id then
        file.truncate(0)
        file.write(f"{os.getpid()}\n")
        file.flush()
    return file


def _open_lock(path: Path):
    """The lock file ``path`` open, created if missing: for writing where this user may, else
    for reading, all that flock needs (a file another user of a shared folder made, 0644 by
    their umask). OSError where neither can be had."""
    try:
        return open(path, "a+")
    except PermissionError:
        return open(path)


def holder(path: Path) -> int | None:
    """The process id written in the lock file ``path`` by `claim`, if it can be read."""
    try:
        return int(Path(path).read_text().strip())
    except (OSError, ValueError):  # gone, or its holder has not written it yet
        return None
