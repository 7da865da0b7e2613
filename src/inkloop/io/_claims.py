"""Claims on shared files: a process reading a file holds it open with a shared lock, and a
file is deleted only by a process that finds no claim on it. Without locks (Windows) the
system's sharing rules do the same: a file open anywhere cannot be deleted."""

from __future__ import annotations

import contextlib
from pathlib import Path

from inkloop._locks import LOCKS, fcntl, try_lock  # fcntl: None on Windows


def open_claimed(path: Path):
    """``path`` opened for reading, with its shared lock held (until it is closed). On a file
    system that takes no locks nothing is deleted (`delete_unclaimed`)."""
    file = open(path, "rb")  # noqa: SIM115 (held open: the lock lasts as long)
    if LOCKS:
        with contextlib.suppress(OSError):
            fcntl.flock(file, fcntl.LOCK_SH)
    return file


def claims_are_locks() -> bool:
    """Whether a claim is a lock (POSIX): held by an open file under any of its names, so a
    file written under one name stays claimed as it is linked or renamed to another. Without
    locks (Windows) an open file's names cannot be deleted: close it before renaming."""
    return LOCKS


def delete_unclaimed(path: Path) -> bool:
    """Delete ``path`` unless a process holds its claim (reads it); False where it is kept."""
    try:
        if not LOCKS:  # Windows refuses to delete an open file (PermissionError): held
            path.unlink()  # opening it first would make this process a holder too
            return True
        with open(path, "rb") as file:
            if not try_lock(file):
                return False
            path.unlink()
    except OSError:  # gone already, held (Windows), or locks not taken there: kept
        return False
    return True
