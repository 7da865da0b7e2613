"""Deleting the painted labels layer, closing napari's window (its close veto, before napari
tears anything down) or the dock (its X) waits for the last strokes' write with Qt's events
turning (seconds at full size: napari paints, its timers fire), and says what it waits for;
nothing is lost (review RE, finding 1's close; fixer FG)."""

from __future__ import annotations

import threading

import numpy as np
import pytest
from qtpy.QtCore import QTimer
from qtpy.QtWidgets import QMessageBox

from inkloop._locks import claim
from inkloop._napari import _autosave
from inkloop._napari._label_claims import labels_lock_path
from inkloop.brush import decode_labels
from inkloop.io import open_segment
from inkloop.synthetic import write_segment
from tests._napari._gui import messages
from tests._napari.test_close_veto import shown_window
from tests._napari.test_labels_claimed_again import needs_locks
from tests._napari.test_segment_switch_writes import _on_disk, _paint


@pytest.fixture
def gate(monkeypatch):
    return writes_at_a_gate(monkeypatch)


def writes_at_a_gate(monkeypatch) -> threading.Event:
    """An open gate each label write waits at while the test holds it closed; one that
    waits 5 s in vain goes on (the old code, whose GUI thread never turned to open it)."""
    gate, write = threading.Event(), _autosave.write_label_files
    gate.set()

    def write_label_files(*args, **kwargs):
        gate.wait(5)
        return write(*args, **kwargs)

    monkeypatch.setattr(_autosave, "write_label_files", write_label_files)
    return gate


def test_a_removed_labels_layer_waits_for_its_last_write_with_events_turning(
    open_in_dock, tmp_path, gate
):
    folder = write_segment(tmp_path / "segA", 64, 96, 6, seed=3, truth_as_labels=False)
    viewer, widget = open_in_dock(folder)
    segment = widget.labels.segment
    painted = _paint(widget)
    closed, heard = [], []
    notice = "Ink Loop: writing the last strokes of segA…"

    def turned() -> None:  # a timer's turn during the close: the write ends once it is said
        if notice in messages(shown):
            heard.append(bool(closed))
            watch.stop()
            gate.set()

    gate.clear()
    shown = len(messages(0))
    watch = QTimer(interval=0, timeout=turned)
    watch.start()
    viewer.layers.remove(widget.labels.layer)
    closed.append(True)
    watch.stop()

    assert heard == [False]  # said, and the GUI turned while the close waited
    np.testing.assert_array_equal(_on_disk(segment), decode_labels(painted)[0])


def _turn_opens(gate, closed: list, heard: list) -> QTimer:
    """A started timer whose first turn records whether the close had returned (``closed``)
    in ``heard`` and opens ``gate``: a turn during the close proves the GUI turned."""

    def turned() -> None:
        heard.append(bool(closed))
        watch.stop()
        gate.set()

    watch = QTimer(interval=0, timeout=turned)
    watch.start()
    return watch


def test_a_closed_window_writes_its_last_strokes_with_events_turning(
    painting, qtbot, gate, monkeypatch
):
    """Its X, Ctrl+W, Ctrl+Q: the close veto writes the strokes on the label worker before
    napari tears anything down, and napari paints meanwhile (review FG)."""
    viewer, widget = painting
    window = shown_window(viewer, widget, qtbot)
    segment = widget.labels.segment
    painted = _paint(widget)
    closed, heard, dialogs = [], [], []
    monkeypatch.setattr(QMessageBox, "warning", lambda *a: dialogs.append(a))

    gate.clear()
    watch = _turn_opens(gate, closed, heard)
    window.close()
    closed.append(True)
    watch.stop()

    assert heard == [False]  # the GUI turned while the close wrote
    assert not window.isVisible()
    assert dialogs == []
    np.testing.assert_array_equal(_on_disk(segment), decode_labels(painted)[0])


def test_a_closed_dock_writes_its_last_strokes_with_events_turning(painting, qtbot, gate):
    """The dock's X hides it in napari's whole window: napari paints while it writes."""
    viewer, widget = painting
    shown_window(viewer, widget, qtbot)
    segment = widget.labels.segment
    painted = _paint(widget)
    closed, heard = [], []

    gate.clear()
    watch = _turn_opens(gate, closed, heard)
    viewer.window.remove_dock_widget(widget)
    closed.append(True)
    watch.stop()

    assert heard == [False]
    assert widget.labels is None
    np.testing.assert_array_equal(_on_disk(segment), decode_labels(painted)[0])


def test_a_window_closed_right_after_a_switch_writes_the_segment_left_with_events_turning(
    painting, tmp_path, qtbot, gate, monkeypatch
):
    """The close veto first waits for the last write of the segment switched away from:
    with napari turning too (closing review C5 of session 40, finding 1)."""
    viewer, widget = painting
    window = shown_window(viewer, widget, qtbot)
    segment = widget.labels.segment
    painted = _paint(widget)
    other = write_segment(tmp_path / "other", 64, 96, 6, seed=4, truth_as_labels=False)
    closed, heard = [], []
    monkeypatch.setattr(QMessageBox, "warning", lambda *a: heard.append("dialog"))

    gate.clear()
    widget.open_segment(str(other), wait=True)  # the first segment's last write waits
    watch = _turn_opens(gate, closed, heard)
    window.close()
    closed.append(True)
    watch.stop()

    assert heard == [False]  # the GUI turned while the close waited; no dialog
    assert not window.isVisible()
    np.testing.assert_array_equal(_on_disk(segment), decode_labels(painted)[0])


@needs_locks
def test_a_window_whose_labels_another_holds_closes(open_in_dock, unlabelled_folder, qtbot):
    """Its session writes nothing: the close veto has nothing to wait for."""
    held = claim(labels_lock_path(open_segment(unlabelled_folder)))  # another window's
    viewer, widget = open_in_dock(unlabelled_folder)
    window = shown_window(viewer, widget, qtbot)
    widget.labels.painter.stamp_along([(20, 30), (20, 60)])

    window.close()

    held.close()
    assert not window.isVisible()
