"""The cores inkloop counts are those the process may run on, not the machine's."""

from __future__ import annotations

import os

from inkloop._cpus import usable_cpus
from inkloop.train._workers import auto_workers


def test_a_job_given_two_cores_of_a_big_machine_counts_two(monkeypatch):
    monkeypatch.setattr(os, "cpu_count", lambda: 64)
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {5, 9}, raising=False)  # SLURM's
    assert usable_cpus() == 2
    assert auto_workers("cuda") == 0  # no loader processes crowding its two cores
    monkeypatch.delattr(os, "sched_getaffinity")  # macOS, Windows: what the machine has
    assert usable_cpus() == 64
