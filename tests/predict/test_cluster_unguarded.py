"""A local cluster started from a script without a main guard: its workers import inkloop
and nothing of the script (`inkloop._spawn.main_hidden`), so they neither run it again nor
fail to start."""

from __future__ import annotations

import subprocess
import sys

import pytest

pytest.importorskip("distributed")

UNGUARDED = """
import os
from inkloop.predict.batch import cluster_client

with open("runs.txt", "a") as runs:  # once per process that runs this script
    print(os.getpid(), file=runs)
with cluster_client("local:1", device="cpu") as client:
    print("worker", *client.run(os.getpid).values())
"""


@pytest.mark.slow
def test_a_local_cluster_starts_from_a_script_without_a_main_guard(tmp_path):
    (tmp_path / "unguarded.py").write_text(UNGUARDED)
    run = subprocess.run(
        [sys.executable, "unguarded.py"], cwd=tmp_path, capture_output=True, text=True, timeout=120
    )
    assert run.returncode == 0, run.stderr
    assert "Traceback" not in run.stderr
    assert run.stdout.startswith("worker ")
    assert len((tmp_path / "runs.txt").read_text().split()) == 1  # the worker did not run it
