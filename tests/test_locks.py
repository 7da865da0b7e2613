"""Lock files in a folder several users share: one another user made (0644 by their umask)
cannot be opened for writing, and flock needs only reading. A second user's rounds were not
recorded, and their labels not claimed (so a window of theirs saved over the first's)."""

from __future__ import annotations

import builtins
import os
import subprocess
import sys

import pytest

from inkloop._locks import LOCKS, claim, holder, locked

pytestmark = pytest.mark.skipif(not LOCKS, reason="flock: not on Windows")

TRY_CLAIM = "import sys; from pathlib import Path; from inkloop._locks import claim; "
TRY_CLAIM += "print('held' if claim(Path(sys.argv[1])) else 'refused')"


@pytest.fixture
def anothers_lock_file(tmp_path, monkeypatch):
    """A lock file of another user: read-only to this one (root ignores the mode, so for
    root opening it to write is refused as the system refuses any other user)."""
    path = tmp_path / ".seg.lock"
    path.write_text("4242\n")
    path.chmod(0o444)
    if os.geteuid() == 0:
        real_open = builtins.open

        def refused_for_writing(file, mode="r", *args, **kwargs):
            if os.fspath(file) == os.fspath(path) and set(mode) & set("wa+"):
                raise PermissionError(13, "Permission denied", os.fspath(file))
            return real_open(file, mode, *args, **kwargs)

        monkeypatch.setattr("inkloop._locks.open", refused_for_writing, raising=False)
    return path


def test_another_users_lock_file_is_claimed_for_reading(anothers_lock_file):
    held = claim(anothers_lock_file)
    assert held is not None
    try:
        other = [sys.executable, "-c", TRY_CLAIM, str(anothers_lock_file)]
        assert subprocess.run(other, capture_output=True, text=True).stdout.strip() == "refused"
        assert holder(anothers_lock_file) == 4242  # not rewritten: the file is not ours
    finally:
        held.close()


def test_another_users_lock_file_is_waited_on_for_reading(anothers_lock_file):
    with locked(anothers_lock_file):
        other = [sys.executable, "-c", TRY_CLAIM, str(anothers_lock_file)]
        assert subprocess.run(other, capture_output=True, text=True).stdout.strip() == "refused"
