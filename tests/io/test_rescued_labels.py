"""Autosave copies that a segment's folder refused are kept in a rescue folder (inkloop's data
folder's unsaved/<id>-<hash>, else the temporary folder's inkloop-unsaved-<uid>/<id>-<hash>); an
opening finds them there and restores the newest pair when it is newer than every label file
beside the segment, which still opens from its own folder."""

from __future__ import annotations

import os
import tempfile
import warnings
from pathlib import Path

import numpy as np
import pytest

from inkloop._notify import InkloopWarning
from inkloop.io import (
    _writable,
    autosaved_labels,
    initial_labels,
    label_paths,
    open_segment,
    write_label_files,
)
from inkloop.io._sidefiles import side_folder

INK = "20231012184423_inklabels.autosave.png"  # conftest's segment_folder's id


@pytest.fixture
def rescue(data_home, tmp_path, monkeypatch):
    """The rescue folders of a segment folder, (data, temporary), spelled out as the README
    names them; the temporary folder in ``tmp_path``."""
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "tmp"))
    (tmp_path / "tmp").mkdir()

    def folders(segment_folder: Path) -> tuple[Path, Path]:
        key = _writable.own_side_folder(segment_folder, segment_folder.name).name
        temporary = Path(tempfile.gettempdir()) / f"inkloop-unsaved-{os.getuid()}" / key
        return data_home / "unsaved" / key, temporary

    return folders


def kept(path: Path, box: tuple[slice, slice], written_ns: int) -> tuple[Path, Path]:
    """A pair of autosave copies at ``path`` inked in ``box``, written at ``written_ns``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    ink = np.zeros((64, 96), np.uint8)
    ink[box] = 255
    pair = write_label_files(path, ink, ink > 0, fast=True)
    for file in pair:
        os.utime(file, ns=(written_ns, written_ns))
    return pair


def test_the_newest_rescued_pair_opens_while_newer_than_the_files_beside_the_segment(
    segment_folder, rescue
):
    unsaved, temporary = rescue(segment_folder)
    saved_ns = label_paths(open_segment(segment_folder))[0].stat().st_mtime_ns
    second = 1_000_000_000
    kept(unsaved / INK, np.s_[5:10, 5:20], saved_ns + 5 * second)
    newest = kept(temporary / INK, np.s_[30:40, 50:90], saved_ns + 8 * second)

    segment = open_segment(segment_folder)
    assert autosaved_labels(segment) == newest
    ink, _, source, found = initial_labels(segment)
    assert source == f"restored autosaved labels {newest[0]}"
    assert found == newest[0]
    assert ink[30:40, 50:90].all()
    assert not ink[5:10, 5:20].any()
    assert side_folder(segment) == segment_folder  # no folder of inkloop's became its home

    beside = label_paths(segment, autosave=True)
    kept(beside[0], np.s_[0:5, 0:5], saved_ns + 10 * second)  # a later autosave took them
    assert autosaved_labels(open_segment(segment_folder)) == beside
    for path in beside:  # a Save since: it removes them, and its files are the newest
        path.unlink()
    for path in label_paths(segment):
        if path.is_file():
            os.utime(path, ns=(saved_ns + 12 * second,) * 2)
    assert autosaved_labels(open_segment(segment_folder)) is None


def test_copies_kept_for_a_share_are_found_when_it_opens_read_only(
    segment_folder, rescue, monkeypatch
):
    """Kept while the share was writable, under its name; it is read-only when it opens
    again, from a folder of inkloop's own, named for the share as the rescue folder is."""
    unsaved, _ = rescue(segment_folder)
    later = label_paths(open_segment(segment_folder))[0].stat().st_mtime_ns + 5_000_000_000
    pair = kept(unsaved / INK, np.s_[5:10, 5:20], later)
    monkeypatch.setenv(_writable.TOLD_ENV, "")
    monkeypatch.setattr(_writable, "is_writable", lambda folder: folder != segment_folder)

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", InkloopWarning)  # where its labels go now
        segment = open_segment(segment_folder)
    assert side_folder(segment) == _writable.own_side_folder(segment_folder, segment.name)
    assert autosaved_labels(segment) == pair


def test_parts_a_killed_rescue_left_are_removed_at_opening(segment_folder, rescue):
    unsaved, _ = rescue(segment_folder)
    unsaved.mkdir(parents=True)
    part = unsaved / f".{INK}.abcd1234.tmp"
    part.write_bytes(b"half a png")
    os.utime(part, (1, 1))  # unwritten for long: its writer ended
    initial_labels(open_segment(segment_folder))
    assert not part.exists()


def test_a_rescue_folder_another_user_made_is_passed_over(segment_folder, rescue, monkeypatch):
    """The temporary folder is every user's: one that this user may not read (another's,
    made with umask 077) neither stops the opening nor is taken for copies."""
    _, temporary = rescue(segment_folder)
    temporary.mkdir(parents=True)
    refused = PermissionError(13, "Permission denied")
    is_file, scandir = Path.is_file, os.scandir

    def no_entry(path, *args, **kw):
        if Path(path).parent == temporary:
            raise refused
        return is_file(path, *args, **kw)

    def no_listing(path=".", *args):
        if Path(path) == temporary:
            raise refused
        return scandir(path, *args)

    monkeypatch.setattr(Path, "is_file", no_entry)
    monkeypatch.setattr(os, "scandir", no_listing)
    segment = open_segment(segment_folder)
    initial_labels(segment)  # opens with its own labels
    assert autosaved_labels(segment) is None
    assert temporary.parent.name == f"inkloop-unsaved-{os.getuid()}"  # one user's own
