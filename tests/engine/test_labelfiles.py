"""The label files of a process that ended without removing them (killed, crashed) are
removed by the next process that makes some; those of a living process stay."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import pytest

from inkloop.engine._labelfiles import LabelFiles

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="POSIX file locks")

HOLDER = """
import sys
import numpy as np
from inkloop.engine._labelfiles import LabelFiles
files = LabelFiles(np.zeros((4, 4), np.uint8), np.zeros((4, 4), bool))
print(files.folder, flush=True)
sys.stdin.read()  # until it is killed
"""


def _labels() -> LabelFiles:
    return LabelFiles(np.zeros((4, 4), np.uint8), np.zeros((4, 4), bool))


def test_the_folder_of_a_killed_process_goes_and_a_living_ones_stays(tmp_path, monkeypatch):
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    pipes = {"stdin": subprocess.PIPE, "stdout": subprocess.PIPE, "text": True}
    env = {**os.environ, "TMPDIR": str(tmp_path)}
    with subprocess.Popen([sys.executable, "-c", HOLDER], env=env, **pipes) as holder:
        theirs = Path(holder.stdout.readline().strip())
        mine = _labels()
        assert theirs.is_dir()  # its process lives: its engine may respawn from it
        holder.kill()  # a crash: nothing removed
    assert (theirs / "ink.npy").is_file()

    again = _labels()
    assert not theirs.exists()
    assert (mine.folder / "ink.npy").is_file()  # this process's own, still in use
    mine.remove()
    again.remove()
    assert list(tmp_path.iterdir()) == []


def test_a_process_never_takes_its_own_folders_for_orphans(tmp_path, monkeypatch):
    """On NFS a lock is the process's: testing one of its own would take it for free."""
    from inkloop.engine import _labelfiles

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    monkeypatch.setattr(_labelfiles, "orphaned", lambda path: True)  # as NFS answers here
    first = _labels()
    second = _labels()  # an engine server's second session, say
    assert (first.folder / "ink.npy").is_file()
    first.remove()
    second.remove()
