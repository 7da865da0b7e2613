"""Hiding the Ink Loop dock (napari's Window menu) autosaves its strokes with Qt's events
turning, floating or docked, and says so without "the last strokes": painting goes on. Where
napari's window is closing, the hide waits plainly (torn down, or written by the close veto)
(closing review C5 of session 40, findings 3 and 4)."""

from __future__ import annotations

import numpy as np
import pytest
from napari._qt import qt_main_window
from qtpy.QtCore import QEventLoop, QTimer
from qtpy.QtWidgets import QApplication, QDialog, QDockWidget

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


def _hides_waiting(monkeypatch) -> list[bool]:
    """Whether each hide's flush (not the close veto's) waited with Qt's events turning."""
    waits, flush = [], _autosave.Autosaver.flush

    def flushing(autosaver, closing=False, turning=False, final=True):
        if not closing:
            waits.append(turning)
        return flush(autosaver, closing, turning, final)

    monkeypatch.setattr(_autosave.Autosaver, "flush", flushing)
    return waits


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
    waits = _hides_waiting(monkeypatch)
    closes = {
        "window_x": window.close,
        "window_close": viewer.window.close,
        "quit": lambda: window.close(quit_app=True),
    }
    closes[close]()

    assert waits == [False]
    assert widget.labels is None
    np.testing.assert_array_equal(_on_disk(segment), decode_labels(painted)[0])


def _close_event_asking(monkeypatch, answer) -> None:
    """napari's closeEvent asking "Are you sure?" first (its X: confirm_close_window, on by
    default, and layers open; a real spontaneous close is not sent under xvfb): a modal
    dialog, ``answer`` on its first turn; Cancel ignores the close, as napari does."""
    close_event, asked = qt_main_window._QtMainWindow.closeEvent, []

    def asking(window, event) -> None:
        if asked:  # napari asks on its X; the teardown's close is a script's
            close_event(window, event)
            return
        asked.append(True)
        sure = QDialog(window)
        QTimer.singleShot(0, lambda: sure.done(answer))
        if sure.exec() != QDialog.DialogCode.Accepted:
            event.ignore()
            return
        close_event(window, event)

    monkeypatch.setattr(qt_main_window._QtMainWindow, "closeEvent", asking)


def _from_the_event_loop(call) -> None:
    """``call()`` from a running event loop, as napari's app runs a click on the X."""
    loop = QEventLoop()

    def called() -> None:
        call()
        loop.quit()

    QTimer.singleShot(0, called)
    loop.exec()


def test_a_hidden_dock_autosaves_with_events_turning_after_a_close_was_cancelled(
    painting, qtbot, gate, monkeypatch
):
    """Cancel at napari's "Are you sure?": the window stays, so a later hide turns (review
    C2 of session 41, finding 1)."""
    viewer, widget = painting
    window = shown_window(viewer, widget, qtbot)
    _close_event_asking(monkeypatch, QDialog.DialogCode.Rejected)
    _from_the_event_loop(window.close)
    qtbot.waitUntil(widget._ends.window_stays)  # as a user's next click comes later
    painted, segment = _paint(widget), widget.labels.segment
    hidden, heard = [], []

    gate.clear()
    watch = _turn_opens(gate, hidden, heard)
    _dock(widget).toggleViewAction().trigger()  # Window > Ink Loop
    hidden.append(True)
    watch.stop()

    assert window.isVisible()
    assert heard == [False]  # the GUI turned while the hide wrote
    np.testing.assert_array_equal(_on_disk(segment), decode_labels(painted)[0])


def test_a_floating_dock_waits_plainly_once_napari_s_window_closes_after_asking(
    painting, qtbot, monkeypatch
):
    """OK at napari's "Are you sure?" (its dialog turns Qt's events): the close goes on, its
    un-floating of the dock waits plainly, and the dock stops painting."""
    viewer, widget = painting
    window = shown_window(viewer, widget, qtbot)
    _floated(widget)
    waits = _hides_waiting(monkeypatch)
    _close_event_asking(monkeypatch, QDialog.DialogCode.Accepted)
    _from_the_event_loop(window.close)

    assert waits  # its un-floating, and its hiding, of the dock
    assert not any(waits)
    assert not window.isVisible()
    assert widget.labels is None
