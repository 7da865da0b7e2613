"""Hiding the Ink Loop dock (napari's Window menu) autosaves its strokes with Qt's events
turning, floating or docked, and says so without "the last strokes": painting goes on. Where
napari's window is closing, the hide waits plainly (torn down, or written by the close veto)
(closing review C5 of session 40, findings 3 and 4)."""

from __future__ import annotations

import numpy as np
import pytest
from napari._qt import qt_main_window
from qtpy.QtCore import QTimer
from qtpy.QtWidgets import QApplication, QDockWidget

from inkloop._napari import _autosave
from inkloop.brush import decode_labels
from tests._napari._gui import messages
from tests._napari.test_close_veto import shown_window
from tests._napari.test_close_waits_turning import _turn_opens, writes_at_a_gate
from tests._napari.test_segment_switch_writes import _on_disk, _paint


@pytest.fixture
def gate(monkeypatch):
    return writes_at_a_gate(monkeypatch)


def _dock(widget) -> QDockWidget:
    """The dock holding ``widget``."""
    dock = widget.parentWidget()
    while not isinstance(dock, QDockWidget):
        dock = dock.parentWidget()
    return dock


def _floated(widget) -> QDockWidget:
    """The dock holding ``widget``, floated off napari's window."""
    dock = _dock(widget)
    dock.setFloating(True)
    QApplication.processEvents()
    return dock


def test_a_hidden_dock_says_it_autosaves_not_that_these_are_the_last_strokes(painting, qtbot, gate):
    viewer, widget = painting
    shown_window(viewer, widget, qtbot)
    dock = _dock(widget)
    _paint(widget)
    said = []

    def turned() -> None:  # the write ends once the wait's notice is said
        if notices := messages(shown):
            said.extend(notices)
            watch.stop()
            gate.set()

    gate.clear()
    shown = len(messages(0))
    watch = QTimer(interval=0, timeout=turned)
    watch.start()
    dock.toggleViewAction().trigger()
    watch.stop()

    assert said == ["Ink Loop: autosaving the strokes of seg…"]
    assert widget.labels is not None


def test_a_floating_dock_hidden_autosaves_with_events_turning(painting, qtbot, gate):
    viewer, widget = painting
    shown_window(viewer, widget, qtbot)
    dock = _floated(widget)
    segment = widget.labels.segment
    painted = _paint(widget)
    hidden, heard = [], []

    gate.clear()
    watch = _turn_opens(gate, hidden, heard)
    dock.toggleViewAction().trigger()  # Window > Ink Loop
    hidden.append(True)
    watch.stop()

    assert heard == [False]  # the GUI turned while the hide wrote
    assert not dock.isVisible()
    assert widget.labels is not None  # painting goes on
    np.testing.assert_array_equal(_on_disk(segment), decode_labels(painted)[0])


@pytest.mark.parametrize("close", ["window_x", "window_close", "quit"])
def test_a_floating_dock_waits_plainly_once_napari_s_window_closes(
    painting, qtbot, monkeypatch, close
):
    """napari's close un-floats the dock (a hide), and ``Window.close()`` hides it after its
    canvas is torn down: no events turn in those hides' waits."""
    monkeypatch.setattr(qt_main_window, "quit_app_", lambda: None)
    viewer, widget = painting
    window = shown_window(viewer, widget, qtbot)
    _floated(widget)
    segment = widget.labels.segment
    painted = _paint(widget)
    waits, flush = [], _autosave.Autosaver.flush

    def flushing(autosaver, closing=False, turning=False):
        if not closing:  # the hide's, not the close veto's
            waits.append(turning)
        return flush(autosaver, closing, turning)

    monkeypatch.setattr(_autosave.Autosaver, "flush", flushing)
    closes = {
        "window_x": window.close,
        "window_close": viewer.window.close,
        "quit": lambda: window.close(quit_app=True),
    }
    closes[close]()

    assert waits == [False]
    assert widget.labels is None
    np.testing.assert_array_equal(_on_disk(segment), decode_labels(painted)[0])
