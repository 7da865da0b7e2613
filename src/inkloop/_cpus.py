"""The CPU cores this process may run on: under SLURM or a container's cpuset that is fewer
than the machine has, and a thread or worker per machine core would crowd them."""

from __future__ import annotations

import os


def usable_cpus() -> int:
    """Cores this process may use (its CPU affinity where the OS tells it), at least 1."""
    if hasattr(os, "sched_getaffinity"):
        return max(1, len(os.sched_getaffinity(0)))
    return os.cpu_count() or 1
