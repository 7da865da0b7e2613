"""A benchmark's one JSON object, alone on stdout."""

from __future__ import annotations

import os
import sys
from typing import TextIO


def json_stdout() -> TextIO:
    """Point stdout (file descriptor 1) at stderr for the rest of the process and return a
    file on the original stdout, for the JSON: what else writes to stdout (napari's console
    notifications, C libraries, child processes such as the engine's) goes to stderr."""
    sys.stdout.flush()
    out = os.fdopen(os.dup(1), "w")
    os.dup2(2, 1)
    return out
