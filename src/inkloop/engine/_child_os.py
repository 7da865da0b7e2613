"""What the engine child asks of its operating system before it works: a lower priority than
the GUI's, and a resource tracker of its own."""

from __future__ import annotations

import logging
import os
from multiprocessing import resource_tracker

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
