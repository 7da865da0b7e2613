"""Spawned processes (the engine's child, the batch workers) that import inkloop and nothing
of the user's script."""

from __future__ import annotations

import sys
import threading
import types
from multiprocessing.process import BaseProcess

_MAIN_SWAP = threading.Lock()


def start_spawned(process: BaseProcess) -> None:
    """Start a process of the spawn context with the parent's ``__main__`` hidden.

    multiprocessing's spawn makes the child re-import the parent's main script (by path, or by
    module name under ``python -m``). A napari script without an ``if __name__ ==
    "__main__":`` guard would build a second viewer in the engine child, which then segfaults
    when torch follows (docs/architecture §3); a script calling ``napari.run()`` at top level
    would block it, and a training script would train again in each batch worker. While
    `Process.start` records what the child should import, ``__main__`` is a bare module with
    neither a file nor a spec, so the child imports inkloop and nothing else.
    """
    with _MAIN_SWAP:
        main = sys.modules["__main__"]
        sys.modules["__main__"] = types.ModuleType("__main__")
        try:
            process.start()
        finally:
            sys.modules["__main__"] = main
