"""Spawned processes (the engine's child, the batch workers, a local cluster's workers) that
import inkloop and nothing of the user's script."""

from __future__ import annotations

import sys
import threading
import types
from collections.abc import Iterator
from contextlib import contextmanager
from multiprocessing.process import BaseProcess

_MAIN_SWAP = threading.Lock()


def start_spawned(process: BaseProcess) -> None:
    """Start a process of the spawn context with the parent's ``__main__`` hidden
    (`main_hidden`)."""
    with main_hidden():
        process.start()


@contextmanager
def main_hidden() -> Iterator[None]:
    """Processes spawned inside this block import inkloop and nothing of the user's script.

    multiprocessing's spawn makes the child re-import the parent's main script (by path, or by
    module name under ``python -m``). A napari script without an ``if __name__ ==
    "__main__":`` guard would build a second viewer in the engine child, which then segfaults
    when torch follows (docs/architecture §3); a script calling ``napari.run()`` at top level
    would block it, a training script would train again in each batch worker, and a predicting
    one would fail to start its local cluster. While a process starts (it records then what
    the child should import), ``__main__`` is a bare module with neither a file nor a spec,
    so the child imports inkloop and nothing else. Keep the block to the starting: other
    threads see the bare module too.
    """
    with _MAIN_SWAP:
        main = sys.modules["__main__"]
        sys.modules["__main__"] = types.ModuleType("__main__")
        try:
            yield
        finally:
            sys.modules["__main__"] = main
