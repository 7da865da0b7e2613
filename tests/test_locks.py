"""Lock files in a folder several users share: one another user made (0644 by their umask)
cannot be opened for writing, and flock needs only reading. A second user's rounds were not
recorded, and their labels not claimed (so a window of theirs saved over the first's).
On NFS a file open only for reading cannot be locked at all (EBADF), so lock files are made
writable by every user, and where one is not, the message says whose it is and how to fix it."""

from __future__ import annotations

import builtins
import errno
import os
import re
import shlex
import subprocess
import sys

import pytest

from inkloop._locks import LOCKS, claim, holder, locked
from inkloop._notify import InkloopWarning

pytestmark = pytest.mark.skipif(not LOCKS, reason="flock: not on Windows")
fcntl = pytest.importorskip("fcntl")

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


@pytest.fixture
def umask_022():
    """The usual umask, which leaves a new file writable by its owner only."""
    before = os.umask(0o022)
    yield
    os.umask(before)


@pytest.mark.usefixtures("umask_022")
def test_lock_files_made_or_left_by_this_user_may_be_opened_for_writing_by_all(tmp_path):
    """Another user of a shared folder must open them for writing to lock them on NFS."""
    old = tmp_path / ".old.lock"  # left 0644 by an earlier inkloop
    old.write_text("4242\n")
    old.chmod(0o644)
    claim(tmp_path / ".labels.lock").close()
    with locked(tmp_path / ".rounds.lock"):
        pass
    claim(old).close()
    for name in (".labels.lock", ".rounds.lock", ".old.lock"):
        assert (tmp_path / name).stat().st_mode & 0o777 == 0o666


def test_a_lock_file_nfs_cannot_lock_read_only_says_whose_it_is_and_the_fix(
    anothers_lock_file, monkeypatch
):
    """NFS refuses an exclusive lock through a file open for reading (EBADF): that is not a
    file system without locks but another user's lock file, which their chmod mends."""
    real_flock = fcntl.flock

    def as_nfs(file, how):
        if how & fcntl.LOCK_EX and not file.writable():
            raise OSError(errno.EBADF, "Bad file descriptor")
        real_flock(file, how)

    monkeypatch.setattr(fcntl, "flock", as_nfs)
    import pwd  # POSIX, as flock

    owner = pwd.getpwuid(anothers_lock_file.stat().st_uid).pw_name
    said = (
        f"{re.escape(str(anothers_lock_file))} belongs to {owner} and is read-only to you, .*"
        f"it cannot keep another process from writing what it guards at the same time.*"
        f"{owner} .*can fix it: {re.escape('chmod a+w ' + shlex.quote(str(anothers_lock_file)))}"
    )
    with pytest.warns(InkloopWarning, match=said) as warned:
        held = claim(anothers_lock_file)
    assert held is not None  # the work goes on
    held.close()
    with pytest.warns(InkloopWarning, match=said), locked(anothers_lock_file):
        pass
    assert "going on unlocked" not in str(warned[0].message)
