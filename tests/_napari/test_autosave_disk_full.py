"""Strokes that the segment's folder refuses (its disk full) are kept where they can be (a
rescue folder: inkloop's data folder's unsaved/<id>-<hash>, else the temporary folder's
inkloop-unsaved-<uid>/<id>-<hash>), said once with a way out that works, and found again when the
segment is reopened, which still opens from (and saves to) its own folder; only the session
that kept them removes them; strokes that no folder takes are said to be lost at close (a
close that would lose them is refused once: test_close_veto.py). Until the folder takes them
again, the Labels section says where they are (a notice is one cut-off line for 4 s), in a
line that wraps inside a long path rather than widen the dock."""

from __future__ import annotations

import errno
import os
import tempfile
from concurrent.futures import wait
from pathlib import Path

import numpy as np
import pytest
from napari.utils.notifications import notification_manager
from PIL import Image
from qtpy.QtWidgets import QApplication

from inkloop._napari._reader import segment_layers
from inkloop.brush import decode_labels
from inkloop.io import (
    _labels,
    _writable,
    autosaved_labels,
    initial_labels,
    label_paths,
    open_segment,
    write_label_files,
)
from inkloop.io._sidefiles import side_folder
from inkloop.synthetic import write_segment
from tests._napari._gui import drag, messages

WAY_OUT = (
    "or save them to another disk with File → Save Selected Layers, type "
    '"Ink Loop Vesuvius ink labels (*.png)"'
)
PAIR = ("seg_inklabels.autosave.png", "seg_supervision_mask.autosave.png")
FULL = "No space left on device"
FULL_DISK = f"[Errno 28] {FULL}"


@pytest.fixture
def full(monkeypatch, tmp_path):
    """The folders whose disk is full (label writes in them or below them raise ENOSPC;
    opening reads them as before), none at first; inkloop's data and temporary folders in
    ``tmp_path``."""
    return refusing_folders(monkeypatch, tmp_path, lambda path: OSError(errno.ENOSPC, FULL))


def refusing_folders(monkeypatch, tmp_path, refusal) -> set[Path]:
    """The folders that refuse label files (a write in them or below them raises
    ``refusal(path)``; opening reads them as before), none at first; inkloop's data and
    temporary folders in ``tmp_path``."""
    monkeypatch.setenv("INKLOOP_DATA", str(tmp_path / "data"))
    monkeypatch.setenv(_writable.TOLD_ENV, "")  # restored after: opening notes what it told
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "tmp"))
    (tmp_path / "tmp").mkdir()
    folders, encode_png = set(), _labels.encode_png

    def encode_png_unless_refused(path, *args, **kwargs):
        if folders & set(Path(path).parents):
            raise refusal(path)
        return encode_png(path, *args, **kwargs)

    monkeypatch.setattr(_labels, "encode_png", encode_png_unless_refused)
    return folders


def rescue_folders(folder: Path) -> tuple[Path, Path]:
    """Where the copies that segment ``folder``'s folder refuses go: inkloop's data folder's
    unsaved/<id>-<hash>, else the temporary folder's inkloop-unsaved-<uid>/<id>-<hash>."""
    key = _writable.own_side_folder(folder, folder.name).name
    data = Path(os.environ["INKLOOP_DATA"])
    temporary = Path(tempfile.gettempdir()) / f"inkloop-unsaved-{os.getuid()}" / key
    return data / "unsaved" / key, temporary


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
    unsaved, _ = rescue_folders(unlabelled_folder)
    full.add(unlabelled_folder)
    shown = len(notification_manager.records)

    drag(viewer, [(80, 80), (80, 160)], qtbot)
    ticks(autosaver, 3)  # kept elsewhere, said, the folder tried again: not said again
    (said,) = messages(shown)
    assert said.startswith("Ink Loop: The unsaved strokes could not be written to ")
    assert f"they are in {unsaved}, and seg opens with them from there." in said
    assert f". Free space on {disk_of(unlabelled_folder)}, {WAY_OUT}" in said
    ink, _ = decode_labels(viewer.layers["ink labels"].data)
    np.testing.assert_array_equal(ink_in(unsaved / PAIR[0]), ink)

    drag(viewer, [(120, 80), (120, 160)], qtbot)
    painted = viewer.layers["ink labels"].data.copy()
    viewer.close()  # the last write, refused too: said again, as it is the last
    last = messages(shown)[-1]
    assert last.startswith("Ink Loop: The last strokes could not be written to ")
    assert f"they are in {unsaved}" in last

    full.clear()  # space freed
    reopened = make_napari_viewer()
    shown = len(notification_manager.records)
    (*_, labels) = reopened.open(str(unlabelled_folder), plugin="napari-inkloop")
    np.testing.assert_array_equal(labels.data, painted)
    restored = f"restored autosaved labels {unsaved / PAIR[0]}"
    assert labels.metadata["inkloop_soft_labels"] == restored
    kept = f"kept there when {unlabelled_folder} refused them"
    assert messages(shown) == [
        f"Ink Loop: seg: restored unsaved (autosaved) labels {unsaved / PAIR[0]} ({kept}; "
        f"Save labels writes them to {unlabelled_folder})"
    ]


def test_a_rescue_leaves_the_segment_opening_from_and_saving_to_its_own_folder(
    full, painting, unlabelled_folder, qtbot
):
    """Copies kept elsewhere for a while make no folder of inkloop's the segment's home:
    an opening meanwhile (the engine's at a Finetune, inkloop train) reads the segment's
    folder, and once it takes them again the copies go and Save writes there."""
    viewer, widget = painting
    autosaver = widget.labels.autosaver
    autosaver.interval_s = 3600
    own = _writable.own_side_folder(unlabelled_folder, "seg")
    unsaved, _ = rescue_folders(unlabelled_folder)
    full.add(unlabelled_folder)
    drag(viewer, [(80, 80), (80, 160)], qtbot)
    ticks(autosaver, 1)

    assert side_folder(open_segment(unlabelled_folder)) == unlabelled_folder
    assert not own.exists()
    assert (unsaved / PAIR[0]).is_file()
    shown = len(notification_manager.records)
    full.clear()  # space freed
    ticks(autosaver, 3)

    assert messages(shown)[-1] == f"Ink Loop: Autosave writes to {unlabelled_folder} again"
    assert not unsaved.exists()
    ink, _ = decode_labels(viewer.layers["ink labels"].data)
    np.testing.assert_array_equal(ink_in(unlabelled_folder / PAIR[0]), ink)
    wait([widget.labels.save()], timeout=10)
    saved = label_paths(open_segment(unlabelled_folder))[0]
    assert saved.parent == unlabelled_folder
    np.testing.assert_array_equal(ink_in(saved), ink)
    assert not own.exists()


def test_with_inkloops_disk_full_too_the_strokes_go_to_the_temporary_folder(
    full, painting, unlabelled_folder, qtbot
):
    """Kept in the temporary folder, they are found by the next opening: no file to move."""
    viewer, widget = painting
    autosaver = widget.labels.autosaver
    autosaver.interval_s = 3600
    unsaved, temporary = rescue_folders(unlabelled_folder)
    full.update({unlabelled_folder, unsaved.parent.parent})  # inkloop's data folder too
    shown = len(notification_manager.records)

    drag(viewer, [(80, 80), (80, 160)], qtbot)
    ink, supervised = decode_labels(viewer.layers["ink labels"].data)
    ticks(autosaver, 2)

    (said,) = messages(shown)
    opens = "seg opens with them from there while the system keeps its temporary files"
    assert f"they are in {temporary}, and {opens}." in said
    assert not unsaved.exists()
    assert not _writable.own_side_folder(unlabelled_folder, "seg").exists()
    viewer.close()
    full.clear()
    restored_ink, restored_supervised, source, _ = initial_labels(open_segment(unlabelled_folder))
    assert source == f"restored autosaved labels {temporary / PAIR[0]}"  # the reader's too
    np.testing.assert_array_equal(restored_ink, ink)
    np.testing.assert_array_equal(restored_supervised, supervised)


def test_an_earlier_sessions_copies_open_and_are_never_deleted_unread(
    full, unlabelled_folder, open_in_dock, qtbot
):
    """Copies an earlier session kept in the temporary folder open with the segment; this
    session's autosave beside it and its Save leave them where they are (it did not write
    them), and the next opening passes over them for the newer saved labels."""
    _, temporary = rescue_folders(unlabelled_folder)
    temporary.mkdir(parents=True)
    earlier = np.zeros((200, 300), np.uint8)
    earlier[10:30, 10:60] = 255
    write_label_files(temporary / PAIR[0], earlier, earlier > 0, fast=True)

    viewer, widget = open_in_dock(unlabelled_folder)  # a later session
    labels = viewer.layers["ink labels"]
    np.testing.assert_array_equal(decode_labels(labels.data)[0], earlier)
    drag(viewer, [(160, 80), (160, 160)], qtbot)
    ticks(widget.labels.autosaver, 1)  # its first autosave: beside the segment
    assert sorted(path.name for path in temporary.iterdir()) == sorted(PAIR)
    ink, _ = decode_labels(labels.data)
    assert ink[10:30, 10:60].all()  # the earlier strokes, and this session's
    assert np.count_nonzero(ink) > np.count_nonzero(earlier)
    np.testing.assert_array_equal(ink_in(unlabelled_folder / PAIR[0]), ink)

    wait([widget.labels.save()], timeout=10)
    assert sorted(path.name for path in temporary.iterdir()) == sorted(PAIR)
    reopened = open_segment(unlabelled_folder)
    assert autosaved_labels(reopened) is None
    np.testing.assert_array_equal(np.asarray(reopened.ink_labels), ink)


def test_strokes_no_folder_takes_are_said_to_be_lost_at_close(
    full, painting, unlabelled_folder, qtbot
):
    viewer, widget = painting
    autosaver = widget.labels.autosaver
    autosaver.interval_s = 3600
    unsaved, temporary = rescue_folders(unlabelled_folder)
    full.update({unlabelled_folder, unsaved, temporary})
    shown = len(notification_manager.records)
    drag(viewer, [(80, 80), (80, 160)], qtbot)
    ticks(autosaver, 2)
    drag(viewer, [(120, 80), (120, 160)], qtbot)

    viewer.window.remove_dock_widget(widget)  # the dock's X: the last write

    tried = f"{unlabelled_folder} nor {unsaved} nor {temporary}"
    full_disk = "[Errno 28] No space left on device"
    way_out = f"Free space on {disk_of(unlabelled_folder)}, {WAY_OUT}"
    assert messages(shown) == [
        f"Ink Loop: The unsaved strokes could not be written to {tried} ({full_disk}): they "
        f"are only in this window. {way_out}",
        f"Ink Loop: The last strokes could not be written to {tried} ({full_disk}): they are "
        f"lost unless the 'ink labels' layer is still open. {way_out}",
    ]


def test_kept_copies_that_cannot_be_read_are_passed_over_and_named_where_they_are(
    full, unlabelled_folder
):
    unsaved, _ = rescue_folders(unlabelled_folder)
    unsaved.mkdir(parents=True)
    for name in PAIR:
        (unsaved / name).write_bytes(b"not a png")

    _, layers, notes = segment_layers(open_segment(unlabelled_folder))

    assert layers[-1][1]["metadata"]["inkloop_soft_labels"] == "no labels yet"
    ((_, said),) = notes
    assert said.startswith(f"seg: its autosaved labels cannot be read ({unsaved / PAIR[0]}")
    assert said.endswith(
        f"; it opened without labels instead. The first stroke's autosave replaces or passes "
        f"over {PAIR[0]} and {PAIR[1]} (kept in {unsaved} when {unlabelled_folder} refused "
        f"them): to keep them, move them out of {unsaved} first"
    )


def test_a_kept_ink_copy_without_its_mask_that_cannot_be_read_is_passed_over(
    full, unlabelled_folder
):
    """A kept ink copy whose mask a killed write never renamed into place, unreadable: the
    segment opens without it, said (it raised; closing review C8 of session 40)."""
    unsaved, _ = rescue_folders(unlabelled_folder)
    unsaved.mkdir(parents=True)
    (unsaved / PAIR[0]).write_bytes(b"not a png")

    _, layers, notes = segment_layers(open_segment(unlabelled_folder))

    assert layers[-1][1]["metadata"]["inkloop_soft_labels"] == "no labels yet"
    ((_, said),) = notes
    assert said.startswith(f"seg: its autosaved labels cannot be read ({unsaved / PAIR[0]}")


def test_the_labels_section_says_where_unsaved_strokes_are_until_a_save_takes_them(
    full, painting, unlabelled_folder, qtbot
):
    _viewer, widget = painting
    session, line = widget.labels, widget.brush_panel.storage
    session.autosaver.interval_s = 3600  # only the ticks below
    unsaved, temporary = rescue_folders(unlabelled_folder)
    assert line.isHidden()
    full.add(unlabelled_folder)

    session.painter.stamp_along([(80, 80), (80, 160)])
    ticks(session.autosaver, 2)
    kept = line.text()
    full.update({unsaved, temporary})
    session.painter.stamp_along([(120, 80), (120, 160)])
    ticks(session.autosaver, 2)
    only_here = line.text()
    full.clear()  # space freed
    session.save()
    qtbot.waitUntil(line.isHidden)  # the Save's end, said on the GUI thread

    assert kept.startswith(f"⚠ The unsaved strokes could not be written to {unlabelled_folder}")
    assert f"they are in {unsaved}, and seg opens with them from there." in kept
    assert kept.endswith(WAY_OUT)
    assert f"({FULL_DISK}): they are only in this window. Free space on " in only_here
    assert widget.labels.storage == ""


def test_the_storage_line_wraps_inside_a_long_path_and_leaves_the_dock_as_narrow(
    full, open_in_dock, tmp_path, qtbot
):
    folder = write_segment(
        tmp_path / ("scroll1-" + "0" * 60) / "seg", 200, 300, 6, seed=3, truth_as_labels=False
    )
    viewer, widget = open_in_dock(folder)
    session, line = widget.labels, widget.brush_panel.storage
    session.autosaver.interval_s = 3600
    viewer.show()
    qtbot.waitUntil(widget.isVisible)
    QApplication.processEvents()  # napari's stylesheet laid out
    narrowest = widget.minimumSizeHint().width()
    full.add(folder)

    session.painter.stamp_along([(80, 80), (80, 160)])
    ticks(session.autosaver, 2)  # written, and said at the next tick
    QApplication.processEvents()  # the layouts follow the line shown

    assert f"could not be written to {folder} (" in line.text()  # whole, not elided
    assert widget.minimumSizeHint().width() == narrowest
    assert line.width() < line.fontMetrics().horizontalAdvance(str(folder))  # so wrapped in it
    assert line.viewport().height() >= line.document().size().height()  # every line shown


def test_the_storage_line_leaves_plain_keys_to_the_dock_and_copies(qtbot):
    """Clicked, it kept Space, the arrows and the page keys for its hidden scroll bars."""
    from qtpy.QtCore import QEvent, Qt
    from qtpy.QtGui import QKeyEvent

    from inkloop._napari._brush_panel import StorageLine

    line = StorageLine("storage")
    qtbot.addWidget(line)
    line.setPlainText("⚠ kept in /a/very/long/folder/unsaved/seg-0123: free space or save")
    line.selectAll()

    def taken(key, modifiers=Qt.KeyboardModifier.NoModifier) -> bool:
        event = QKeyEvent(QEvent.Type.KeyPress, key, modifiers)
        event.ignore()
        line.keyPressEvent(event)
        return event.isAccepted()

    for key in (Qt.Key.Key_Space, Qt.Key.Key_Up, Qt.Key.Key_Down, Qt.Key.Key_PageDown):
        assert not taken(key)
    assert taken(Qt.Key.Key_C, Qt.KeyboardModifier.ControlModifier)
