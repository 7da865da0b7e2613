"""Hiding the Ink Loop dock (napari's Window menu) autosaves its strokes, and says so
without "the last strokes": painting goes on (closing review C5 of session 40, finding 4)."""

from __future__ import annotations

import pytest
from qtpy.QtCore import QTimer
from qtpy.QtWidgets import QDockWidget

from tests._napari._gui import messages
from tests._napari.test_close_veto import shown_window
from tests._napari.test_close_waits_turning import writes_at_a_gate
from tests._napari.test_segment_switch_writes import _paint


@pytest.fixture
def gate(monkeypatch):
    return writes_at_a_gate(monkeypatch)


def _dock(widget) -> QDockWidget:
    """The dock holding ``widget``."""
    dock = widget.parentWidget()
    while not isinstance(dock, QDockWidget):
        dock = dock.parentWidget()
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
