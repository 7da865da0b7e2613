"""The label files of a process that ended without removing them (killed, crashed) are
removed by the next process that makes some; those of a living process stay. Its flock tells,
or without flock (Windows) its process id."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import pytest

from inkloop.engine._labelfiles import LabelFiles
from tests._helpers import posix_only

pytestmark = posix_only("fcntl.flock, whose locks tell a dead process's label files (or os.kill)")

HOLDER = """
import sys
import numpy as np
from inkloop.engine._labelfiles import LabelFiles
files = LabelFiles(np.zeros((4, 4), np.uint8), np.zeros((4, 4), bool))
print(files.folder, flush=True)
sys.stdin.read()  # until it is killed
"""
# Windows has no fcntl: there the owner file holds its process's id, which `orphaned` asks after
WITHOUT_FLOCK = """
import inkloop._locks as locks, inkloop.engine._labelfiles as label_files
locks.LOCKS = label_files.LOCKS = False"""


def _labels() -> LabelFiles:
    return LabelFiles(np.zeros((4, 4), np.uint8), np.zeros((4, 4), bool))


@pytest.mark.parametrize("flock", [True, False], ids=["flock", "process-id"])
def test_the_folder_of_a_killed_process_goes_and_a_living_ones_stays(tmp_path, monkeypatch, flock):
    from inkloop import _locks
    from inkloop.engine import _labelfiles

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    holder_code = HOLDER if flock else WITHOUT_FLOCK + HOLDER
    if not flock:  # as on Windows
        monkeypatch.setattr(_locks, "LOCKS", False)
        monkeypatch.setattr(_labelfiles, "LOCKS", False)
    pipes = {"stdin": subprocess.PIPE, "stdout": subprocess.PIPE, "text": True}
    env = {**os.environ, "TMPDIR": str(tmp_path)}
    with subprocess.Popen([sys.executable, "-c", holder_code], env=env, **pipes) as holder:
        theirs = Path(holder.stdout.readline().strip())
        if not flock:
            assert (theirs / "owner.lock").read_text() == f"{holder.pid}\n"
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


def test_a_failed_write_leaves_no_folder_and_no_open_lock(tmp_path, monkeypatch):
    """A full disk: the error is raised, and each try leaves nothing behind to fill it more."""
    import errno

    from inkloop.engine import _labelfiles

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    owners, own = [], _labelfiles._own

    def owned(folder):
        owners.append(own(folder))
        return owners[-1]

    def full_after_the_ink(path, array, *args, **kwargs):
        if Path(path).name != "ink.npy":
            raise OSError(errno.ENOSPC, "No space left on device")
        save(path, array, *args, **kwargs)

    save, ours = np.save, set(_labelfiles._OURS)
    monkeypatch.setattr(_labelfiles, "_own", owned)
    monkeypatch.setattr(np, "save", full_after_the_ink)
    for _ in range(2):  # the dock tries again on the next click
        with pytest.raises(OSError, match="No space left") as raised:
            _labels()
        assert raised.value.errno == errno.ENOSPC
    assert list(tmp_path.iterdir()) == []
    assert ours == _labelfiles._OURS
    assert len(owners) == 2
    assert all(owner is None or owner.closed for owner in owners)
