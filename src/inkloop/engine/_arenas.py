"""glibc's malloc arenas in the engine child: each thread that allocates gets an arena of its
own (up to 8 per core), and memory freed there stays with it. The child's threads (torch,
batch loaders, previews, whole-segment jobs) grew it ~35 MB per whole-segment prediction,
1012 -> 1442 MB over 12 on a 2048² segment; with 4 arenas it stayed at 980-1060 MB, training
as fast (25.0-25.1 against 25.4-25.5 steps/s, 2 cores)."""

from __future__ import annotations

import ctypes
import ctypes.util
import sys

ARENAS = 4
_M_ARENA_MAX = -8  # mallopt's parameter number, from glibc's malloc.h


def cap_malloc_arenas() -> bool:
    """Cap this process's malloc arenas at `ARENAS`, before its threads start; False where the
    C library is not glibc (macOS, Windows, musl): nothing is changed there."""
    if not sys.platform.startswith("linux"):
        return False
    name = ctypes.util.find_library("c")
    try:
        mallopt = ctypes.CDLL(name).mallopt
    except (OSError, AttributeError):  # no C library found, or one without mallopt (musl)
        return False
    return mallopt(_M_ARENA_MAX, ARENAS) == 1
