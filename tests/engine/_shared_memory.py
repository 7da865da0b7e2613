"""A process's shared memory segments and semaphores, as /proc and /dev/shm show them (Linux)."""

from __future__ import annotations

import os
from pathlib import Path

SHM = Path("/dev/shm")


def shared_memory_of(pid: int) -> set[int]:
    """The inodes of the files in /dev/shm that process ``pid`` maps: its shared memory
    segments and its semaphores (glibc maps a semaphore's file before naming it, so the
    map shows a removed temporary name, but the same inode)."""
    maps = (line.split() for line in Path(f"/proc/{pid}/maps").read_text().splitlines())
    return {
        int(fields[4]) for fields in maps if len(fields) > 5 and fields[5].startswith("/dev/shm/")
    }


def still_named(inodes: set[int]) -> list[str]:
    """The names in /dev/shm of any of ``inodes``."""
    return [entry.name for entry in os.scandir(SHM) if entry.inode() in inodes]
