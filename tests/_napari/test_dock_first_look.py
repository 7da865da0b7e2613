"""The dock before a segment is open says how to begin, and its threshold agrees with every
segment's overlay (keyboard review R3, findings 4 and 7)."""

from __future__ import annotations

from qtpy.QtCore import Qt
from qtpy.QtTest import QTest

from inkloop._napari._loop_panel import FINETUNE_TIP, NO_SEGMENT_TEXT, NO_SEGMENT_TIP
from inkloop._napari._widget import InkLoopWidget
from inkloop.brush import Brush
from inkloop.synthetic import write_segment


def test_an_empty_dock_says_how_to_begin_and_shows_a_new_brush_greyed(
    make_napari_viewer, segment_folder, monkeypatch
):
    monkeypatch.setattr(InkLoopWidget, "warm_engine", False)
    viewer = make_napari_viewer()
    _, widget = viewer.window.add_plugin_dock_widget("napari-inkloop", "Ink Loop")
    brush, loop_panel = widget.brush_panel, widget.loop_panel

    assert loop_panel.status.text() == NO_SEGMENT_TEXT
    assert "File → Open Sample → Synthetic scroll segment (Ink Loop)" in NO_SEGMENT_TEXT
    assert loop_panel.finetune_button.toolTip() == NO_SEGMENT_TIP
    shown = (brush.radius.value(), brush.hardness.value(), brush.strength.value())
    assert shown == (Brush().radius, Brush().hardness, Brush().strength)
    assert not any(box.isEnabled() for box in (brush.radius, brush.hardness, brush.strength))
    assert not loop_panel.threshold.isEnabled()  # it has no overlay to threshold
    QTest.keyClick(loop_panel.threshold, Qt.Key.Key_PageUp)
    assert loop_panel.threshold.value() == 0

    widget.open_segment(str(segment_folder), wait=True)
    assert loop_panel.status.text() != NO_SEGMENT_TEXT  # what to paint, now
    assert loop_panel.finetune_button.toolTip() == FINETUNE_TIP
    assert loop_panel.threshold.isEnabled()


def test_a_segment_opened_or_switched_to_takes_the_threshold_the_slider_shows(
    open_in_dock, segment_folder, tmp_path
):
    _, widget = open_in_dock(segment_folder)
    slider, shown = widget.loop_panel.threshold, widget.loop_panel.threshold_value
    slider.setValue(50)
    assert widget.loop.overlay.threshold == 0.5

    widget.open_segment(str(write_segment(tmp_path / "other", 48, 80, 8, seed=2)), wait=True)
    assert widget.labels.segment.name == "other"
    assert shown.text() == "≥ 0.50"
    assert widget.loop.overlay.threshold == 0.5  # the view and Accept alike, as the slider says
