"""The loop's keys on "ink labels" (keyboard review R3, finding 6): T presses Finetune &
preview, then Pause/Resume; O shows or hides the prediction; 1..9, 0 paint ink at strength
0.1..1.0 (napari's Labels mode keys 1-7 change nothing on this non-editable layer). Real key
events on the viewer's canvas."""

from __future__ import annotations

import pytest
from qtpy.QtCore import Qt
from qtpy.QtTest import QTest

from inkloop._napari._keys import NO_PREDICTION, NOTHING_TO_STOP
from inkloop._napari._overlay import PREDICTION_LAYER
from inkloop.engine import State, StateChanged
from tests._napari._fakes import FakeEngine, patch_in_dock
from tests._napari._gui import canvas, messages


def _key(viewer, key, modifier=Qt.KeyboardModifier.NoModifier) -> None:
    QTest.keyClick(canvas(viewer).native, key, modifier)


class PausableEngine(FakeEngine):
    """A FakeEngine that keeps what it was asked: pause, resume."""

    def __init__(self, *args, **kw) -> None:
        super().__init__(*args, **kw)
        self.asked = []

    def pause(self) -> None:
        self.asked.append("pause")

    def resume(self) -> None:
        self.asked.append("resume")

    def stop(self) -> None:
        self.asked.append("stop")


def test_digits_paint_ink_at_their_strength_and_o_shows_or_hides_the_prediction(painting):
    viewer, widget = painting
    painter = widget.labels.painter
    painter.set_brush(mode="erase")

    _key(viewer, Qt.Key.Key_3)
    assert (painter.brush.mode, painter.brush.strength) == ("ink", pytest.approx(0.3))
    assert widget.brush_panel.strength.value() == pytest.approx(0.3)
    _key(viewer, Qt.Key.Key_0)
    assert painter.brush.strength == 1.0
    assert painter.layer.mode == "pan_zoom"  # napari's tools stay off

    shown = len(messages(0))
    _key(viewer, Qt.Key.Key_O)
    assert messages(shown) == [f"Ink Loop: {NO_PREDICTION}"]  # none yet
    prediction = widget.loop.prediction_layer()
    assert prediction.visible
    _key(viewer, Qt.Key.Key_O)
    assert not prediction.visible
    _key(viewer, Qt.Key.Key_O)
    assert viewer.layers[PREDICTION_LAYER].visible


def test_t_finetunes_then_pauses_and_resumes_and_the_keys_go_with_the_dock(
    painting, qtbot, monkeypatch
):
    viewer, widget = painting
    made = []
    monkeypatch.setattr(FakeEngine, "made", made)
    patch_in_dock(monkeypatch, "EngineProcess", PausableEngine)
    loop, panel = widget.loop, widget.loop_panel

    _key(viewer, Qt.Key.Key_T)  # Finetune & preview
    assert loop.starting
    qtbot.waitUntil(lambda: bool(made) and made[0].starts == 1)
    _key(viewer, Qt.Key.Key_T)  # while the run starts: nothing
    engine = made[0]
    engine.report(StateChanged(State.TRAINING, State.IDLE))
    qtbot.waitUntil(lambda: panel.pause_button.isEnabled())
    _key(viewer, Qt.Key.Key_T)
    assert engine.asked == ["pause"]
    assert panel.pause_button.isChecked()
    engine.report(StateChanged(State.PAUSED, State.TRAINING))
    _key(viewer, Qt.Key.Key_T)
    assert engine.asked == ["pause", "resume"]
    assert (len(made), engine.starts) == (1, 1)

    layer = widget.labels.layer
    widget.close()  # the dock lets go of the labels: T and O there do nothing now
    assert not {"T", "Shift+T", "O", "3"} & {str(key) for key in layer.keymap}


def test_shift_t_stops_the_run_and_says_when_there_is_none(painting, qtbot, monkeypatch):
    """No key stopped a run: Stop was 47 Tab presses from the canvas (review R4, finding 8)."""
    viewer, widget = painting
    made = []
    monkeypatch.setattr(FakeEngine, "made", made)
    patch_in_dock(monkeypatch, "EngineProcess", PausableEngine)
    panel, shift = widget.loop_panel, Qt.KeyboardModifier.ShiftModifier
    shown = len(messages(0))
    _key(viewer, Qt.Key.Key_T, shift)  # no run
    assert messages(shown) == [f"Ink Loop: {NOTHING_TO_STOP}"]
    assert not widget.loop.starting  # not T's Finetune

    _key(viewer, Qt.Key.Key_T)
    qtbot.waitUntil(lambda: bool(made) and made[0].starts == 1)
    made[0].report(StateChanged(State.TRAINING, State.IDLE))
    qtbot.waitUntil(lambda: panel.stop_button.isEnabled())
    _key(viewer, Qt.Key.Key_T, shift)
    assert made[0].asked == ["stop"]
    assert not panel.stop_button.isEnabled()  # stopping: the status says so
