"""The brush says why it does not paint, or paints nothing: a hidden labels layer pans,
Strength is Ink's alone, and strokes that change nothing (max-combine, accept over labels)
say so once, as the next Ctrl+Z undoes the stroke before them."""

from __future__ import annotations

import numpy as np
from napari.utils.notifications import notification_manager

from inkloop._napari._painter import INK_AT_ZERO, UNCHANGED
from inkloop.brush import NO_INK
from tests._napari._gui import drag, messages


def test_a_hidden_layer_pans_and_strokes_that_paint_nothing_say_why(painting, qtbot):
    viewer, widget = painting
    layer, panel = viewer.layers["ink labels"], widget.brush_panel
    panel.show_overlay.setChecked(False)  # to look at the papyrus
    assert layer.mouse_pan
    assert layer.cursor == "standard"
    assert "hidden" in layer.help
    drag(viewer, [(60, 60)], qtbot)
    panel.show_overlay.setChecked(True)
    panel.opacity.setValue(0)
    assert layer.mouse_pan
    drag(viewer, [(120, 60)], qtbot)
    assert not layer.data.any()  # no strokes the user cannot see

    panel.opacity.setValue(50)
    assert not layer.mouse_pan
    assert layer.cursor == "circle"
    assert "drag paints" in layer.help
    drag(viewer, [(120, 60)], qtbot)
    assert layer.data[120, 60]

    panel.strength.setValue(0.0)  # Strength is Ink's alone, and 0 paints nothing
    panel.findChild(object, "no_ink_mode").click()
    assert not any(control.isEnabled() for control in (panel.strength, panel.levels))
    drag(viewer, [(100, 100)], qtbot)
    assert layer.data[100, 100] == NO_INK  # Strength 0 does not turn No ink off

    panel.findChild(object, "ink_mode").click()
    assert panel.strength.isEnabled()
    shown = len(notification_manager.records)
    drag(viewer, [(150, 150)], qtbot)
    assert messages(shown) == [f"Ink Loop: {INK_AT_ZERO}"]

    panel.strength.setValue(1.0)
    drag(viewer, [(50, 40), (50, 140)], qtbot)
    panel.strength.setValue(0.3)
    shown = len(notification_manager.records)
    drag(viewer, [(50, 60), (50, 120)], qtbot)  # weaker over stronger: max-combine
    drag(viewer, [(50, 60), (50, 120)], qtbot)  # said once
    assert messages(shown) == [f"Ink Loop: {UNCHANGED['ink']}"]


def test_accept_fills_unlabelled_pixels_only_and_says_so_over_labels(painting, qtbot):
    viewer, widget = painting
    layer, painter, loop = viewer.layers["ink labels"], widget.labels.painter, widget.loop
    painter.set_brush(mode="ink", radius=8, hardness=1.0, strength=1.0)
    drag(viewer, [(100, 40), (100, 260)], qtbot)  # the user's full ink
    painted = layer.data.copy()
    loop.prediction_layer()
    loop.overlay.show((0, 0, 200, 300), np.full((200, 300), 0.2, np.float32))  # "no ink"
    viewer.layers.selection.active = layer
    painter.set_brush(mode="accept", radius=12)

    drag(viewer, [(100, 60), (100, 240)], qtbot)
    labelled = painted > 0
    np.testing.assert_array_equal(layer.data[labelled], painted[labelled])  # their ink stays
    assert layer.data[89, 150] == NO_INK  # the model's word where there was none
    shown = len(notification_manager.records)
    drag(viewer, [(100, 80), (100, 220)], qtbot)  # all labelled now
    assert painter.accept_box((95, 80, 106, 220)) is None  # the rectangle too: said once
    assert messages(shown) == [f"Ink Loop: {UNCHANGED['accept']}"]
