"""The temporary folder's rescue of refused autosaves is this user's own, as the sample
copies' folder is (`own_temp_folder`): made 0700, and not used where another user or a
symlink took its name first (closing review D8 of session 42, finding 2)."""

from __future__ import annotations

import os
import stat
import tempfile

import pytest

from inkloop._notify import InkloopWarning
from inkloop.io import open_segment
from inkloop.io._autosaved import make_rescue_folder, rescue_folders
from inkloop.synthetic import write_segment

pytestmark = pytest.mark.skipif(not hasattr(os, "geteuid"), reason="a temp folder per user")


@pytest.fixture
def temp(tmp_path, monkeypatch):
    folder = tmp_path / "tmp"
    folder.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(folder))
    return folder


@pytest.fixture
def segment(tmp_path, data_home):
    return open_segment(write_segment(tmp_path / "seg", 32, 32, 4, seed=0))


def test_the_temporary_rescue_folder_is_made_for_this_user_alone(temp, segment):
    _, temporary = rescue_folders(segment)
    make_rescue_folder(temporary)
    assert temporary.parent == temp / f"inkloop-unsaved-{os.geteuid()}"
    assert stat.S_IMODE(temporary.parent.stat().st_mode) == 0o700


def test_a_temporary_rescue_folder_another_made_is_not_used(temp, segment):
    elsewhere = temp / "elsewhere"
    elsewhere.mkdir()
    (temp / f"inkloop-unsaved-{os.geteuid()}").symlink_to(elsewhere)
    with pytest.warns(InkloopWarning, match="is not a folder of your own"):
        folders = rescue_folders(segment)
    assert folders == [folders[0]]
    assert not folders[0].is_relative_to(temp)
