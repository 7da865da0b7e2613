"""Strokes that the segment's folder refuses (its disk full) are kept where they can be,
said once with a way out that works, and found again when the segment is reopened; strokes
that no folder takes are said to be lost at close."""

from __future__ import annotations

import errno
import os
import shutil
import tempfile
from concurrent.futures import wait
from pathlib import Path

import numpy as np
import pytest
from napari.utils.notifications import notification_manager
from PIL import Image

from inkloop.brush import decode_labels
from inkloop.io import _labels, _writable, initial_labels, open_segment
from tests._napari._gui import drag, messages

WAY_OUT = "or save them with File → Save Selected Layers to another disk"
PAIR = ("seg_inklabels.autosave.png", "seg_supervision_mask.autosave.png")


@pytest.fixture
def full(monkeypatch, tmp_path):
    """The folders whose disk is full (label writes there raise ENOSPC; opening reads them
    as before), none at first; inkloop's data and temporary folders in ``tmp_path``."""
    monkeypatch.setenv("INKLOOP_DATA", str(tmp_path / "data"))
    monkeypatch.setenv(_writable.TOLD_ENV, "")  # restored after: opening notes what it told
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "tmp"))
    (tmp_path / "tmp").mkdir()
    folders, encode_png = set(), _labels.encode_png

    def encode_png_unless_full(path, *args, **kwargs):
        if Path(path).parent in folders:
            raise OSError(errno.ENOSPC, "No space left on device")
        return encode_png(path, *args, **kwargs)

    monkeypatch.setattr(_labels, "encode_png", encode_png_unless_full)
    return folders


def disk_of(folder: Path) -> Path:
    return next(path for path in (folder, *folder.parents) if os.path.ismount(path))


def ticks(autosaver, count: int) -> None:
    """``count`` autosave ticks, each waited for (the next one reports it)."""
    for _ in range(count):
        writing = autosaver.save_if_changed()
        if writing is not None:
            wait([writing], timeout=10)


def ink_in(path: Path) -> np.ndarray:
    return np.asarray(Image.open(path))


def test_strokes_a_full_disk_refuses_are_kept_in_inkloops_folder_and_reopen_from_there(
    full, painting, unlabelled_folder, make_napari_viewer, qtbot
):
    viewer, widget = painting
    autosaver = widget.labels.autosaver
    autosaver.interval_s = 3600  # only the ticks below and the close write
    own = _writable.own_side_folder(unlabelled_folder, "seg")
    full.add(unlabelled_folder)
    shown = len(notification_manager.records)

    drag(viewer, [(80, 80), (80, 160)], qtbot)
    ticks(autosaver, 3)  # kept elsewhere, said, the folder tried again: not said again
    (said,) = messages(shown)
    assert said.startswith("Ink Loop: The unsaved strokes could not be written to ")
    assert f"they are in {own}, and seg opens with them from there" in said
    assert f". Free space on {disk_of(unlabelled_folder)}, {WAY_OUT}" in said
    ink, _ = decode_labels(viewer.layers["ink labels"].data)
    np.testing.assert_array_equal(ink_in(own / PAIR[0]), ink)

    drag(viewer, [(120, 80), (120, 160)], qtbot)
    painted = viewer.layers["ink labels"].data.copy()
    viewer.close()  # the last write, refused too: said again, as it is the last
    last = messages(shown)[-1]
    assert last.startswith("Ink Loop: The last strokes could not be written to ")
    assert f"they are in {own}" in last

    full.clear()  # space freed
    reopened = make_napari_viewer()
    (*_, labels) = reopened.open(str(unlabelled_folder), plugin="napari-inkloop")
    np.testing.assert_array_equal(labels.data, painted)
    assert labels.metadata["inkloop_soft_labels"] == (f"restored autosaved labels {own / PAIR[0]}")


def test_once_the_folder_takes_them_again_the_kept_copy_goes(
    full, painting, unlabelled_folder, qtbot
):
    viewer, widget = painting
    autosaver = widget.labels.autosaver
    autosaver.interval_s = 3600
    own = _writable.own_side_folder(unlabelled_folder, "seg")
    full.add(unlabelled_folder)
    drag(viewer, [(80, 80), (80, 160)], qtbot)
    ticks(autosaver, 1)
    assert (own / PAIR[0]).is_file()
    shown = len(notification_manager.records)

    full.clear()  # space freed
    ticks(autosaver, 3)

    assert messages(shown)[-1] == f"Ink Loop: Autosave writes to {unlabelled_folder} again"
    assert not own.exists()  # the segment keeps opening from its own folder
    ink, _ = decode_labels(viewer.layers["ink labels"].data)
    np.testing.assert_array_equal(ink_in(unlabelled_folder / PAIR[0]), ink)


def test_with_inkloops_disk_full_too_the_strokes_go_to_the_temporary_folder(
    full, painting, unlabelled_folder, qtbot
):
    viewer, widget = painting
    autosaver = widget.labels.autosaver
    autosaver.interval_s = 3600
    own = _writable.own_side_folder(unlabelled_folder, "seg")
    temporary = Path(tempfile.gettempdir()) / f"inkloop-unsaved-{own.name}"
    full.update({unlabelled_folder, own})
    shown = len(notification_manager.records)

    drag(viewer, [(80, 80), (80, 160)], qtbot)
    ink, supervised = decode_labels(viewer.layers["ink labels"].data)
    ticks(autosaver, 2)

    (said,) = messages(shown)
    move = f"to open seg with them, move {PAIR[0]} and {PAIR[1]} into {unlabelled_folder}"
    assert f"they are in {temporary} (temporary: {move})" in said
    assert not own.exists()  # no empty folder that the segment would open from
    viewer.close()
    full.clear()
    for name in PAIR:  # as the message says
        shutil.move(temporary / name, unlabelled_folder / name)
    restored_ink, restored_supervised, source, _ = initial_labels(open_segment(unlabelled_folder))
    assert source.startswith("restored autosaved labels")  # what the reader opens with
    np.testing.assert_array_equal(restored_ink, ink)
    np.testing.assert_array_equal(restored_supervised, supervised)


def test_strokes_no_folder_takes_are_said_to_be_lost_at_close(
    full, painting, unlabelled_folder, qtbot
):
    viewer, widget = painting
    autosaver = widget.labels.autosaver
    autosaver.interval_s = 3600
    own = _writable.own_side_folder(unlabelled_folder, "seg")
    temporary = Path(tempfile.gettempdir()) / f"inkloop-unsaved-{own.name}"
    full.update({unlabelled_folder, own, temporary})
    shown = len(notification_manager.records)
    drag(viewer, [(80, 80), (80, 160)], qtbot)
    ticks(autosaver, 2)
    drag(viewer, [(120, 80), (120, 160)], qtbot)

    viewer.window.remove_dock_widget(widget)  # the dock's X: the last write

    tried = f"{unlabelled_folder} nor {own} nor {temporary}"
    full_disk = "[Errno 28] No space left on device"
    way_out = f"Free space on {disk_of(unlabelled_folder)}, {WAY_OUT}"
    assert messages(shown) == [
        f"Ink Loop: The unsaved strokes could not be written to {tried} ({full_disk}): they "
        f"are only in this window. {way_out}",
        f"Ink Loop: The last strokes could not be written to {tried} ({full_disk}): they are "
        f"lost unless the 'ink labels' layer is still open. {way_out}",
    ]
