"""Rescues an earlier inkloop kept at ``inkloop-unsaved-<uid>-<id>-<hash>`` in the temporary
folder are still restored from there, where that folder is this user's own and closed to
others; nothing is written there (closing review C25 of session 42, finding 1)."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import numpy as np
import pytest

from inkloop.io import _writable, autosaved_labels, initial_labels, label_paths, open_segment
from inkloop.io._autosaved import is_dock_labels, rescue_folders
from tests.io.test_rescued_labels import INK, kept, rescue  # noqa: F401

pytestmark = [
    pytest.mark.skipif(not hasattr(os, "getuid"), reason="a temp folder per user"),
    pytest.mark.usefixtures("rescue"),  # the temporary folder in tmp_path
]


def old_rescue(segment_folder: Path) -> Path:
    """Where inkloop kept a segment's temporary rescue before 6c83d2d."""
    key = _writable.own_side_folder(segment_folder, segment_folder.name).name
    return Path(tempfile.gettempdir()) / f"inkloop-unsaved-{os.getuid()}-{key}"


def newer_than_saved(segment_folder: Path) -> int:
    return label_paths(open_segment(segment_folder))[0].stat().st_mtime_ns + 8_000_000_000


def test_a_rescue_at_the_old_temporary_path_is_restored(segment_folder):
    pair = kept(
        old_rescue(segment_folder) / INK, np.s_[30:40, 50:90], newer_than_saved(segment_folder)
    )
    segment = open_segment(segment_folder)
    assert autosaved_labels(segment) == pair
    ink, _, source, _ = initial_labels(segment)
    assert source == f"restored autosaved labels {pair[0]}"
    assert ink[30:40, 50:90].all()
    assert is_dock_labels(segment, pair[0])
    assert old_rescue(segment_folder) not in rescue_folders(segment)  # never written there


@pytest.mark.parametrize(("mode", "read"), [(0o777, False), (0o775, True)])
def test_an_old_rescue_folder_others_may_write_is_not_read(segment_folder, mode, read):
    old = old_rescue(segment_folder)
    pair = kept(old / INK, np.s_[30:40, 50:90], newer_than_saved(segment_folder))
    old.chmod(mode)  # 0o775: made under umask 002, as Fedora and many clusters set it
    assert autosaved_labels(open_segment(segment_folder)) == (pair if read else None)
