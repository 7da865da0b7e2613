"""Spawned processes (the engine's child, the batch workers, a local cluster's workers) that
import inkloop and nothing of the user's script; the ones `start_spawned` starts also outlive a
Ctrl+C pressed while they start."""

from __future__ import annotations

import signal
import sys
import threading
import types
from collections.abc import Iterator
from contextlib import contextmanager
from multiprocessing import resource_tracker
from multiprocessing.process import BaseProcess

_MAIN_SWAP = threading.Lock()  # over the two below
_hiding = 0  # main_hidden blocks under way
_hidden_main: types.ModuleType | None = None  # the script they hide
_CAN_BLOCK = hasattr(signal, "pthread_sigmask")  # not on Windows, where Ctrl+C is a console event


def start_spawned(process: BaseProcess) -> None:
    """Start a process of the spawn context with the parent's ``__main__`` hidden
    (`main_hidden`) and Ctrl+C held off until its target calls `ignore_ctrl_c`, first thing.

    A terminal's Ctrl+C and Jupyter's Interrupt send SIGINT to the whole process group. One
    that lands while the child's interpreter starts and unpickles its target, before the
    target could ignore it, would kill the child (exit code -2), and a run would fail instead
    of stopping. So this thread blocks SIGINT while the process starts, and the child inherits
    the block: a press meanwhile waits in the child until `ignore_ctrl_c` drops it, and
    reaches this process as the block ends. Without pthread_sigmask (Windows) the child
    ignores Ctrl+C only from `ignore_ctrl_c` on.
    """
    with _ctrl_c_blocked(), main_hidden():
        process.start()


def ignore_ctrl_c() -> None:
    """In a process `start_spawned` started, first of all: ignore SIGINT (the parent ends
    the process), which drops a press held while it started, then lift the block."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if _CAN_BLOCK:
        signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})


@contextmanager
def _ctrl_c_blocked() -> Iterator[None]:
    """SIGINT blocked in this thread (any thread) inside, and the mask as it was after."""
    if not _CAN_BLOCK:
        yield
        return
    # its start, which process.start() would make, unblocks SIGINT in the thread starting it
    resource_tracker.ensure_running()
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)


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
    threads see the bare module too. Blocks may overlap, in one thread or several (a local
    cluster's nannies start their workers at once on one event loop): the first hides the
    script, the last to end puts it back.
    """
    global _hiding, _hidden_main
    with _MAIN_SWAP:
        if _hiding == 0:
            _hidden_main = sys.modules["__main__"]
            sys.modules["__main__"] = types.ModuleType("__main__")
        _hiding += 1
    try:
        yield
    finally:
        with _MAIN_SWAP:
            _hiding -= 1
            if _hiding == 0:
                sys.modules["__main__"], _hidden_main = _hidden_main, None
