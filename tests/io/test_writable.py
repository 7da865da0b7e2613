"""A local segment whose side folder cannot be written keeps its own files in a folder of
inkloop's own (`inkloop.io._writable`), reading the existing ones through links.

A folder chmod'ed a-w is read-only to inkloop whoever runs it (`test_read_only_as_root`)."""

from __future__ import annotations

import errno
import os
import shutil
import stat
import tempfile
import warnings
from pathlib import Path

import numpy as np
import pytest

from inkloop._locks import LOCKS, claim
from inkloop._notify import InkloopWarning
from inkloop.io import (
    _writable,
    checkpoint_path,
    label_paths,
    open_segment,
    prediction_path,
    read_label_image,
    rounds_path,
    save_labels,
    write_png,
)
from inkloop.synthetic import write_segment
from tests._helpers import folder_contents

SERVER_INK = np.zeros((32, 40), np.uint8)
SERVER_INK[10:20, 5:30] = 255


@pytest.fixture
def read_only(tmp_path, monkeypatch):
    """A segment folder (mask, the server's ink labels) that no one may write."""
    folder = write_segment(tmp_path / "share" / "20231005123335", 32, 40, 4, seed=1)
    write_png(folder / "20231005123335_inklabels.png", SERVER_INK)
    write_png(folder / "20231005123335_prediction.png", np.zeros((32, 40), np.uint8))
    monkeypatch.setenv(_writable.TOLD_ENV, "")  # a session that has said nothing yet
    folder.chmod(stat.S_IRUSR | stat.S_IXUSR | stat.S_IRGRP | stat.S_IXGRP)
    yield folder
    folder.chmod(0o755)  # lets pytest remove it


def test_labels_of_a_read_only_segment_go_to_a_folder_of_its_own(read_only, data_home):
    before = folder_contents(read_only)
    with pytest.warns(InkloopWarning, match="is read-only") as told:
        segment = open_segment(read_only)
    own = segment.sidecar_folder
    assert own.parent == data_home / "read-only"
    assert own.name.startswith("20231005123335-")
    assert str(own) in str(told[0].message)
    assert len(told) == 1
    assert (np.asarray(segment.mask) > 0).any()  # read through from the original
    assert np.array_equal(np.asarray(segment.ink_labels), SERVER_INK)
    assert not prediction_path(segment).exists()  # a prediction of its own goes here too
    assert {checkpoint_path(segment).parent, rounds_path(segment).parent} == {own}

    ink = np.zeros(segment.shape[1:], np.uint8)
    ink[3:9, 4:20] = 255
    supervised = np.ones(segment.shape[1:], bool)
    saved = save_labels(segment, ink, supervised)
    assert saved == label_paths(segment)
    assert saved[0].parent == own
    assert not saved[0].is_symlink()  # the link replaced, not written through
    assert folder_contents(read_only) == before

    with warnings.catch_warnings(record=True) as later:  # said once: nor in a spawned engine
        warnings.simplefilter("always")
        again = open_segment(read_only)
    assert not [w for w in later if w.category is InkloopWarning]
    assert str(own) in os.environ[_writable.TOLD_ENV]  # which the engine it spawns inherits
    assert again.sidecar_folder == own
    assert np.array_equal(np.asarray(again.ink_labels), ink)
    assert (np.asarray(again.mask) > 0).any()
    assert folder_contents(read_only) == before


def test_the_folder_of_its_own_stays_when_the_share_becomes_writable(
    read_only, data_home, monkeypatch
):
    with pytest.warns(InkloopWarning, match="is read-only"):
        segment = open_segment(read_only)
    ink = np.full(segment.shape[1:], 128, np.uint8)
    save_labels(segment, ink, np.ones(segment.shape[1:], bool))
    monkeypatch.setattr(_writable, "is_writable", lambda folder: True)
    monkeypatch.setenv(_writable.TOLD_ENV, "")  # another session
    with pytest.warns(InkloopWarning, match="made when .* could not be written"):
        again = open_segment(read_only)
    assert again.sidecar_folder == segment.sidecar_folder
    assert np.array_equal(np.asarray(again.ink_labels), ink)


def test_a_tiff_stack_links_only_its_own_side_files(tmp_path, data_home, monkeypatch):
    import tifffile

    folder = tmp_path / "stacks"
    folder.mkdir()
    for stack in ("a.tif", "a_b.tif"):  # a_b.tif: another segment's stack, not a side file
        tifffile.imwrite(folder / stack, np.zeros((4, 32, 40), np.uint16), photometric="minisblack")
    for name in ("a_mask.png", "b_mask.png"):
        write_png(folder / name, np.full((32, 40), 255, np.uint8))
    monkeypatch.setenv(_writable.TOLD_ENV, "")
    monkeypatch.setattr(_writable, "is_writable", lambda f: f != folder)
    with pytest.warns(InkloopWarning, match="is read-only"):
        segment = open_segment(folder / "a.tif")
    linked = sorted(p.name for p in segment.sidecar_folder.iterdir() if p.name[0] != ".")
    assert linked == ["a_mask.png"]  # hidden: the folder's record of its origin
    assert segment.mask is not None


def test_a_writable_folder_keeps_its_side_files(segment_folder, data_home):
    segment = open_segment(segment_folder)
    assert segment.sidecar_folder == segment_folder
    assert not (data_home / "read-only").exists()


@pytest.mark.parametrize(
    ("code", "writable"), [(errno.EROFS, False), (errno.EACCES, False), (errno.ENOSPC, True)]
)
def test_the_probe_takes_a_refused_file_for_a_read_only_folder(
    tmp_path, monkeypatch, code, writable
):
    assert _writable.is_writable(tmp_path)

    def refused(**_):
        raise OSError(code, "refused")

    monkeypatch.setattr(tempfile, "TemporaryFile", refused)
    assert _writable.is_writable(tmp_path) is writable


def test_a_read_only_segment_under_a_name_that_is_not_utf8_has_a_folder_of_its_own(
    tmp_path, data_home
):
    """A Latin-1 name from an old share or a Windows zip: its bytes are kept, not encoded."""
    folder = os.fsdecode(os.fsencode(tmp_path) + b"/lat\xe9")
    own = _writable.own_side_folder(Path(folder), "20231005123335")
    assert own.parent == data_home / "read-only"
    assert own != _writable.own_side_folder(tmp_path / "late", "20231005123335")


def _mounted_elsewhere(share: Path, where: Path, monkeypatch, *, still_there=False) -> Path:
    """``share`` as another mount point (a drive letter, /Volumes/share-1) shows it: the same
    files with the same times, read-only too; unless ``still_there``, no longer at its old
    path (an empty folder stays, as a stale mount point does, and for the fixture's end)."""
    moved = where / share.name
    shutil.copytree(share, moved)  # copy2: times kept
    if not still_there:
        share.rename(share.with_name(f".unmounted-{share.name}"))
        share.mkdir()
    moved.chmod(0o755)  # read-only for the probe alone, and pytest can remove it
    probe = _writable.is_writable
    monkeypatch.setattr(_writable, "is_writable", lambda f: f != moved and probe(f))
    monkeypatch.setenv(_writable.TOLD_ENV, "")  # another session
    return moved


def _painted(segment, value: int) -> np.ndarray:
    ink = np.zeros(segment.shape[1:], np.uint8)
    ink[2:6, 3 : 3 + value] = 255
    save_labels(segment, ink, np.ones(segment.shape[1:], bool))
    return ink


def _opened_telling(path: Path):
    with pytest.warns(InkloopWarning, match="is read-only") as told:
        segment = open_segment(path)
    return segment, " ".join(str(w.message) for w in told)


def test_the_work_of_a_read_only_segment_follows_it_to_another_mount_point(
    read_only, data_home, tmp_path, monkeypatch
):
    """The same share at another path named a new folder: the labels, model and rounds
    painted and trained there seemed lost, and nothing said where they were."""
    first, _ = _opened_telling(read_only)
    ink = _painted(first, 20)
    (first.sidecar_folder / "20231005123335_inkloop_model.pt").write_bytes(b"weights")
    earlier = first.sidecar_folder

    moved = _mounted_elsewhere(read_only, tmp_path / "mnt2", monkeypatch)
    again, told = _opened_telling(moved)

    own = again.sidecar_folder
    assert own.parent == earlier.parent
    assert own != earlier
    assert np.array_equal(np.asarray(again.ink_labels), ink)  # not the share's
    assert (own / "20231005123335_inkloop_model.pt").read_bytes() == b"weights"
    assert f"its work moved there from {earlier} (made for {read_only}: the same layers)" in told
    assert not earlier.exists()  # else found again, empty
    assert (np.asarray(again.mask) > 0).any()  # linked from the share at its new path
    assert os.readlink(own / "20231005123335_mask.png").startswith(str(moved))


def test_of_several_earlier_folders_the_newest_is_taken_and_the_others_named(
    read_only, data_home, tmp_path, monkeypatch
):
    first, _ = _opened_telling(read_only)
    newer = _painted(first, 20)
    older = data_home / "read-only" / "20231005123335-0123456789"  # from a third mount point
    shutil.copytree(first.sidecar_folder, older, symlinks=True)
    for file in older.iterdir():
        os.utime(file, (1e9, 1e9), follow_symlinks=False)

    moved = _mounted_elsewhere(read_only, tmp_path / "mnt2", monkeypatch)
    again, told = _opened_telling(moved)

    assert np.array_equal(np.asarray(again.ink_labels), newer)
    assert f"moved there from {first.sidecar_folder}" in told
    assert f"other work for segments named 20231005123335 is in {older}" in told
    assert (older / label_paths(first)[0].name).is_file()  # left where it was


@pytest.mark.parametrize("earlier_folders", [1, 2])
def test_a_folder_an_earlier_version_made_is_taken_only_if_it_is_the_one(
    read_only, data_home, tmp_path, monkeypatch, earlier_folders
):
    """Folders made before the record: one of the segment's name, holding links to its side
    files and labels of its size, is taken (and said so); of two, neither, both named."""
    first, _ = _opened_telling(read_only)
    ink = _painted(first, 20)
    (first.sidecar_folder / _writable.ORIGIN).unlink()
    if earlier_folders == 2:
        other = data_home / "read-only" / "20231005123335-0123456789"
        shutil.copytree(first.sidecar_folder, other, symlinks=True)

    moved = _mounted_elsewhere(read_only, tmp_path / "mnt2", monkeypatch)
    again, told = _opened_telling(moved)

    if earlier_folders == 1:
        assert np.array_equal(np.asarray(again.ink_labels), ink)
        assert "made by an earlier version, with no record of the path" in told
    else:
        assert np.array_equal(np.asarray(again.ink_labels), SERVER_INK)
        assert "other work for segments named 20231005123335 is in" in told
        assert str(first.sidecar_folder) in told
        assert str(other) in told
        assert label_paths(first)[0].is_file()  # the labels painted there


def test_another_segment_of_the_same_name_keeps_its_work(
    read_only, data_home, tmp_path, monkeypatch
):
    """Another segment with this id (other layers): its folder is named, its work stays."""
    first, _ = _opened_telling(read_only)
    _painted(first, 20)
    other = write_segment(tmp_path / "other" / "20231005123335", 32, 40, 5, seed=2)
    probe = _writable.is_writable
    monkeypatch.setattr(_writable, "is_writable", lambda f: f != other and probe(f))
    monkeypatch.setenv(_writable.TOLD_ENV, "")

    second, told = _opened_telling(other)

    assert second.sidecar_folder != first.sidecar_folder
    assert (first.sidecar_folder / "20231005123335_inklabels.png").is_file()
    assert f"other work for segments named 20231005123335 is in {first.sidecar_folder}" in told


@pytest.mark.skipif(not LOCKS, reason="no flock: whether a folder is open is not known")
def test_a_folder_open_in_another_window_is_not_moved(read_only, data_home, tmp_path, monkeypatch):
    """The share open at its first path too (a window painting there holds the lock)."""
    first, _ = _opened_telling(read_only)
    ink = _painted(first, 20)
    held = claim(first.sidecar_folder / ".20231005123335.inkloop-labels.lock")
    try:
        moved = _mounted_elsewhere(read_only, tmp_path / "mnt2", monkeypatch)
        again, told = _opened_telling(moved)
    finally:
        held.close()
    assert np.array_equal(np.asarray(again.ink_labels), SERVER_INK)
    painted = read_label_image(label_paths(first)[0], ink.shape, ink=True)  # the share's: kept
    assert np.array_equal(painted, ink)
    assert f"is in {first.sidecar_folder}" in told


def test_work_made_for_a_path_the_segment_is_still_at_stays_there(
    read_only, data_home, tmp_path, monkeypatch
):
    """The share at a second path while it is still at the first (two mounts at once, or a
    copy): a job may be writing the first's folder, so its work is named, not moved."""
    first, _ = _opened_telling(read_only)
    ink = _painted(first, 20)
    moved = _mounted_elsewhere(read_only, tmp_path / "mnt2", monkeypatch, still_there=True)
    again, told = _opened_telling(moved)
    assert np.array_equal(np.asarray(again.ink_labels), SERVER_INK)  # the share's
    assert f"other work for segments named 20231005123335 is in {first.sidecar_folder}" in told
    assert np.array_equal(np.asarray(open_segment(read_only).ink_labels), ink)  # kept
