"""What the engine child asks of its operating system: before it works, a lower priority than
the GUI's and a resource tracker of its own; once done, an end without interpreter teardown."""

from __future__ import annotations

import atexit
import contextlib
import logging
import os
import signal
import sys
import threading
from multiprocessing import resource_tracker, util
from multiprocessing.process import BaseProcess

log = logging.getLogger(__name__)
CHILD_NICENESS = 10  # on a busy machine the GUI gets ~10x the child's share of a core


def lower_priority() -> None:
    """Run this process as background work, so the GUI's draws come first when they compete:
    niceness CHILD_NICENESS, or on Windows (no os.nice) the below-normal priority class."""
    if hasattr(os, "nice"):
        os.nice(CHILD_NICENESS)
        return
    try:
        import psutil  # napari's own dependency, so there wherever the dock runs
    except ImportError:
        log.info("inkloop engine: runs at normal priority here (no os.nice, no psutil)")
        return
    psutil.Process().nice(psutil.BELOW_NORMAL_PRIORITY_CLASS)


def own_resource_tracker() -> None:
    """Track this process's shared memory and semaphores with a resource tracker of its own
    (started when first needed; its batch workers share it), which removes them when this
    process is killed: spawn hands a child its parent's, which waits for the parent's exit."""
    tracker = resource_tracker._resource_tracker  # the module's register etc. are its methods
    if tracker._fd is not None and tracker._pid is None:  # the parent's (spawn_main set it)
        os.close(tracker._fd)
        tracker._fd = None


def end_as_python_does() -> None:
    """Do what Python and multiprocessing do as this process ends, short of tearing the
    interpreter down: multiprocessing's finalisers (this process's semaphores and shared
    memory unlinked, its workers joined), non-daemon threads joined, atexit hooks (logging's
    flush among them), stdout and stderr flushed. The caller then calls os._exit: tearing
    down torch's ~440k objects takes ~1.4 s of CPU (mostly garbage collections), which at
    CHILD_NICENESS on a busy machine took 2 to 20 s while a dock's or script's exit waited."""
    util._exit_function()  # as multiprocessing's _bootstrap ends a process, in this order
    threading._shutdown()
    atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        if stream is not None:  # None under pythonw
            stream.flush()


def signal_end(process: BaseProcess, ending: str) -> None:
    """``process.terminate()`` or ``.kill()``; on POSIX by its pid, which also reaches a child
    whose fork server died (multiprocessing then takes it for ended, exit code 255)."""
    if os.name != "posix":
        getattr(process, ending)()
        return
    if process.pid is None or process.exitcode not in (None, 255):  # never started, or reaped
        return  # (a reaped child's pid may be another process's now)
    with contextlib.suppress(ProcessLookupError):
        os.kill(process.pid, signal.SIGTERM if ending == "terminate" else signal.SIGKILL)
