"""Each Open Sample makes a scratch copy of the bundled sample in the temporary folder; the
copies of processes that have ended, untouched for a day, go when the next one is made."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time

import pytest

from inkloop.io import sample_copy

DAY_S = 24 * 3600


@pytest.fixture
def temp(tmp_path, monkeypatch):
    """The temporary folder the copies are made in (a test's own)."""
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    return tmp_path


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
        os.utime(path, (then, then))


def test_a_copy_of_an_ended_process_untouched_for_a_day_goes(temp):
    old, recent = _made_by_another_process(temp), _made_by_another_process(temp)
    _untouched_since(old, 2 * DAY_S)
    _untouched_since(recent, DAY_S / 2)

    new = sample_copy().parent

    assert sorted(path.name for path in temp.iterdir()) == sorted([recent.name, new.name])


def test_a_copy_this_process_made_stays_however_old(temp):
    first = sample_copy().parent
    _untouched_since(first, 2 * DAY_S)  # a napari left open for days shows it

    second = sample_copy().parent

    assert sorted(path.name for path in temp.iterdir()) == sorted([first.name, second.name])
