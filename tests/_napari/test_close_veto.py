"""A close of napari's window that would lose strokes (no folder takes them) is refused once
for those strokes, said in a dialog parented to the window (a notice would go with it):
strokes painted since are asked for again, and failed autosaves meanwhile change nothing
(however the folder's refusal names its temporary file). A quit (Ctrl+Q) closes every
viewer: it writes the strokes of every window first, side by side, and one it refuses is not
left armed."""

from __future__ import annotations

import errno
import threading

import numpy as np
import pytest
from napari._qt import qt_main_window
from qtpy.QtCore import Qt
from qtpy.QtWidgets import QApplication, QMainWindow, QMessageBox

from inkloop._napari import _autosave
from inkloop._napari._dock_ends import KEPT_OPEN, QUIT_KEPT_OPEN
from inkloop.brush import decode_labels
from inkloop.synthetic import write_segment
from tests._napari._gui import messages
from tests._napari.test_autosave_disk_full import (
    FULL,
    FULL_DISK,
    PAIR,
    WAY_OUT,
    refusing_folders,
    rescue_folders,
    ticks,
)
from tests._napari.test_segment_switch_writes import _on_disk, _paint

ONLY_HERE = "they are only in this window"


@pytest.fixture
def full(monkeypatch, tmp_path):
    """The folders whose disk is full (see test_autosave_disk_full.py), none at first."""
    return refusing_folders(monkeypatch, tmp_path, lambda path: OSError(errno.ENOSPC, FULL))


@pytest.fixture
def read_only(monkeypatch, tmp_path):
    """The folders that are read-only, none at first: as mkstemp's there, each refusal names
    the temporary file tried, a random name."""

    def refusal(path):
        return PermissionError(errno.EACCES, "Permission denied", str(path))

    return refusing_folders(monkeypatch, tmp_path, refusal)


@pytest.fixture
def dialogs(monkeypatch):
    """The warning dialogs shown, as (parent's id, title, text): no window kept past the test."""
    shown = []
    monkeypatch.setattr(QMessageBox, "warning", lambda *a: shown.append((id(a[0]), *a[1:])))
    return shown


@pytest.fixture
def quits(monkeypatch):
    """napari's quit of the application, counted rather than run (it would close the other
    tests' viewers too): it closes every viewer, none of which asks its dock first."""
    asked = []
    monkeypatch.setattr(qt_main_window, "quit_app_", lambda: asked.append(True))
    return asked


def shown_window(viewer, widget, qtbot):
    """``viewer``'s window, shown, whose close the dock watches; autosaved only at close."""
    widget.labels.autosaver.interval_s = 3600  # the strokes fall between two autosaves
    viewer.show()
    qtbot.waitUntil(widget.isVisible)
    QApplication.processEvents()  # the dock is in the window now: watched
    window = viewer.window._qt_window
    window.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose, False)  # for teardown
    return window


def test_a_close_that_would_lose_strokes_is_refused_once_with_a_dialog(
    full, painting, unlabelled_folder, qtbot, dialogs, caplog
):
    viewer, widget = painting
    window = shown_window(viewer, widget, qtbot)
    full.update({unlabelled_folder, *rescue_folders(unlabelled_folder)})
    widget.labels.painter.stamp_along([(80, 80), (80, 160)])
    shown = len(messages(0))

    window.close()  # its X, Ctrl+W

    assert window.isVisible()
    assert widget.labels is not None
    ((parent, title, text),) = dialogs
    assert (parent, title) == (id(window), "Ink Loop: strokes not saved")
    assert f"({FULL_DISK}): {ONLY_HERE}. Free space on " in text
    assert text.endswith(f"{WAY_OUT}\n\n{KEPT_OPEN}")
    assert not [m for m in messages(shown) if ONLY_HERE in m]  # a notice goes with the window

    window.close()  # asked again: it closes, without them

    assert not window.isVisible()
    assert len(dialogs) == 1
    assert widget.labels is None
    caplog.clear()  # the failures' tracebacks hold the closing frames, the window's too


def test_a_close_is_refused_again_once_the_strokes_were_written_since(
    full, painting, unlabelled_folder
):
    _viewer, widget = painting
    session = widget.labels
    autosaver = session.autosaver
    autosaver.interval_s = 3600
    folders = {unlabelled_folder, *rescue_folders(unlabelled_folder)}
    full.update(folders)
    session.painter.stamp_along([(80, 80), (80, 160)])

    refused = autosaver.flush(closing=True)
    asked_again = autosaver.flush(closing=True)
    full.clear()  # space freed: the next tick writes them
    ticks(autosaver, 2)
    full.update(folders)  # and the disk is full again
    session.painter.stamp_along([(120, 80), (120, 160)])

    assert ONLY_HERE in refused
    assert asked_again is None
    assert autosaver.flush(closing=True) == refused


def test_strokes_painted_after_a_refused_close_are_asked_for_again(
    full, painting, unlabelled_folder
):
    """The disk stays full, each refusal reads the same: the strokes painted since, not the
    words, make the next close ask again."""
    _viewer, widget = painting
    session = widget.labels
    autosaver = session.autosaver
    autosaver.interval_s = 3600
    full.update({unlabelled_folder, *rescue_folders(unlabelled_folder)})
    session.painter.stamp_along([(80, 80), (80, 160)])
    refused = autosaver.flush(closing=True)

    session.painter.stamp_along([(120, 80), (120, 160)])  # painting goes on for an hour
    ticks(autosaver, 2)  # each autosave fails the same way

    assert ONLY_HERE in refused
    assert autosaver.flush(closing=True) == refused
    assert autosaver.flush(closing=True) is None  # asked again: it closes


def test_a_read_only_folder_refuses_a_close_once_however_often_autosave_failed_since(
    read_only, painting, unlabelled_folder
):
    _viewer, widget = painting
    session = widget.labels
    autosaver = session.autosaver
    autosaver.interval_s = 3600
    read_only.update({unlabelled_folder, *rescue_folders(unlabelled_folder)})
    lines = []
    session.storage_changed.connect(lines.append)
    session.painter.stamp_along([(80, 80), (80, 160)])

    refused = autosaver.flush(closing=True)
    ticks(autosaver, 2)  # while the dialog is read: the timer ticks on, failing
    asked_again = autosaver.flush(closing=True)

    assert asked_again is None
    assert lines == [refused]  # the Labels section's line, unchanged by each failure
    assert f"([Errno {errno.EACCES}] Permission denied): {ONLY_HERE}. Make " in refused
    assert ".tmp" not in refused  # no temporary file's random name


def test_a_quit_writes_every_windows_strokes_and_is_refused_for_those_no_folder_takes(
    full, open_in_dock, unlabelled_folder, tmp_path, qtbot, dialogs, quits, caplog
):
    other = write_segment(tmp_path / "other", 200, 300, 6, seed=4, truth_as_labels=False)
    viewer_a, widget_a = open_in_dock(unlabelled_folder)
    viewer_b, widget_b = open_in_dock(other)
    window_a = shown_window(viewer_a, widget_a, qtbot)
    window_b = shown_window(viewer_b, widget_b, qtbot)
    full.update({other, *rescue_folders(other)})
    widget_a.labels.painter.stamp_along([(80, 80), (80, 160)])
    widget_b.labels.painter.stamp_along([(80, 80), (80, 160)])

    window_a.close(quit_app=True)  # Ctrl+Q in A (napari's confirmation off)

    assert quits == []
    assert window_a.isVisible()
    assert window_b.isVisible()
    assert (unlabelled_folder / PAIR[0]).is_file()  # A's strokes written
    ((parent, _, text),) = dialogs
    assert parent == id(window_a)
    assert text.startswith(f"In the window painting other: The unsaved strokes could not be "
                           f"written to {other} nor ")  # fmt: skip
    assert f"({FULL_DISK}): {ONLY_HERE}. Free space on " in text
    assert text.endswith(f"{WAY_OUT}\n\n{QUIT_KEPT_OPEN}")

    window_a.close(quit_app=True)  # asked again: napari quits, without them

    assert quits == [True]
    assert len(dialogs) == 1
    caplog.clear()  # the failures' tracebacks hold the closing frames, the windows' too


def test_a_refused_quit_leaves_the_next_close_closing_only_its_window(
    full, painting, unlabelled_folder, qtbot, dialogs, quits, caplog
):
    viewer, widget = painting
    window = shown_window(viewer, widget, qtbot)
    full.update({unlabelled_folder, *rescue_folders(unlabelled_folder)})
    widget.labels.painter.stamp_along([(80, 80), (80, 160)])
    window.close(quit_app=True)  # Ctrl+Q: refused
    assert window.isVisible()

    QMainWindow.close(window)  # its X: the window system's close, not napari's close()

    assert not window.isVisible()
    assert quits == []  # napari did not quit, closing the other viewers unasked
    assert len(dialogs) == 1
    caplog.clear()


def test_a_quit_writes_every_windows_last_strokes_side_by_side(
    open_in_dock, tmp_path, qtbot, quits, monkeypatch
):
    """Ctrl+Q with two painting windows: both last writes are under way, each on its window's
    label worker, before either is awaited (closing review C5 of session 40, finding 2)."""
    both = threading.Barrier(2, timeout=5)  # one write alone waits in vain (the old code)
    side_by_side, write = [], _autosave.write_label_files

    def write_label_files(*args, **kwargs):
        try:
            both.wait()
            side_by_side.append(True)
        except threading.BrokenBarrierError:
            side_by_side.append(False)
        return write(*args, **kwargs)

    windows, segments, painted = [], [], []
    for name, seed in (("a", 3), ("b", 4)):
        viewer, widget = open_in_dock(write_segment(tmp_path / name, 64, 96, 6, seed=seed))
        windows.append(shown_window(viewer, widget, qtbot))
        segments.append(widget.labels.segment)
        painted.append(_paint(widget))
    monkeypatch.setattr(_autosave, "write_label_files", write_label_files)

    windows[0].close(quit_app=True)

    assert side_by_side == [True, True]
    assert quits == [True]
    for segment, codes in zip(segments, painted, strict=True):
        np.testing.assert_array_equal(_on_disk(segment), decode_labels(codes)[0])
