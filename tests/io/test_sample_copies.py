"""Each Open Sample makes a scratch copy of the bundled sample in this user's own folder of
copies; the copies of processes known to have ended, untouched for a day, go when the next
one is made, and nothing outside that folder is ever touched."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time

import pytest

import inkloop._locks
from inkloop._notify import InkloopWarning
from inkloop.io import sample_copy

DAY_S = 24 * 3600
LOCK = ".inkloop-sample-in-use.lock"


@pytest.fixture
def temp(tmp_path, monkeypatch):
    """The temporary folder the copies are made in (a test's own)."""
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    return tmp_path


@pytest.fixture
def without_locks(monkeypatch):
    """As on Windows: no file locks, a copy's process known by the id its lock file holds."""
    monkeypatch.setattr(inkloop._locks, "LOCKS", False)


def _made_by_another_process(temp):
    """The scratch folder of a sample copy made by a process that has ended."""
    made = subprocess.run(
        [sys.executable, "-c", "from inkloop.io import sample_copy; print(sample_copy())"],
        env={**os.environ, "TMPDIR": str(temp)},
        capture_output=True,
        text=True,
        check=True,
    )
    return type(temp)(made.stdout.strip()).parent


def _untouched_since(folder, seconds_ago: float) -> None:
    then = time.time() - seconds_ago
    for path in [folder, *folder.rglob("*")]:
        os.utime(path, (then, then), follow_symlinks=False)


def _names(folder) -> list[str]:
    return sorted(path.name for path in folder.iterdir())


def test_a_copy_of_an_ended_process_untouched_for_a_day_goes(temp):
    old, recent = _made_by_another_process(temp), _made_by_another_process(temp)
    _untouched_since(old, 2 * DAY_S)
    _untouched_since(recent, DAY_S / 2)

    new = sample_copy().parent

    assert _names(new.parent) == sorted([recent.name, new.name])


def test_a_copy_this_process_made_stays_however_old(temp):
    first = sample_copy().parent
    _untouched_since(first, 2 * DAY_S)  # a napari left open for days shows it

    second = sample_copy().parent

    assert _names(second.parent) == sorted([first.name, second.name])


def test_the_copies_are_in_a_folder_of_this_users_alone(temp):
    copies = sample_copy().parent.parent

    assert copies.parent == temp
    assert copies.stat().st_mode & 0o777 == 0o700


def test_a_lock_planted_in_anyone_elses_folder_is_never_opened(temp):
    """Another user's stale inkloop-sample-* folder in the shared /tmp, its lock file a
    symlink to a file of this user's: neither is touched."""
    victim = temp / "notes.txt"
    victim.write_text("years of notes\n")
    _untouched_since(victim, 3 * DAY_S)
    planted = temp / "inkloop-sample-zz"
    planted.mkdir()
    (planted / LOCK).symlink_to(victim)
    _untouched_since(planted, 3 * DAY_S)

    sample_copy()

    assert victim.read_text() == "years of notes\n"
    assert (planted / LOCK).is_symlink()


@pytest.mark.parametrize("taken_by", ["symlink", "another user"])
def test_a_copies_folder_not_this_users_own_is_neither_used_nor_cleaned(temp, taken_by):
    elsewhere = temp / "elsewhere"
    stale = elsewhere / "inkloop-sample-old"
    stale.mkdir(parents=True)
    (stale / LOCK).touch()  # held by no process
    _untouched_since(stale, 3 * DAY_S)
    copies = temp / f"inkloop-samples-{os.geteuid()}"
    if taken_by == "symlink":
        copies.symlink_to(elsewhere)
    elif os.geteuid() == 0:
        shutil.move(elsewhere, copies)
        os.chown(copies, 12345, 12345)
    else:
        pytest.skip("only root can give a folder to another user")

    with pytest.warns(InkloopWarning, match="is not a folder of your own"):
        new = sample_copy().parent

    assert new.parent == temp
    assert (copies / "inkloop-sample-old").is_dir()


def test_without_locks_this_processs_own_copy_stays(temp, without_locks):
    first = sample_copy().parent
    _untouched_since(first, 2 * DAY_S)

    second = sample_copy().parent

    assert _names(second.parent) == sorted([first.name, second.name])


def test_without_locks_a_copy_goes_once_its_process_has_ended(temp, without_locks):
    ended = _made_by_another_process(temp)  # its lock file holds its process's id
    unknown = _made_by_another_process(temp)
    (unknown / LOCK).write_text("")  # no process id: whether it ended cannot be known
    _untouched_since(ended, 2 * DAY_S)
    _untouched_since(unknown, 2 * DAY_S)

    new = sample_copy().parent

    assert _names(new.parent) == sorted([unknown.name, new.name])
