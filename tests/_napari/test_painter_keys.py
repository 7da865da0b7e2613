"""The brush's keys leave napari's viewer keys alone (Ctrl+Y still toggles 2D/3D on "ink
labels") and take over its Labels keys that would change label ids."""

from __future__ import annotations

import numpy as np
import pytest
from qtpy.QtCore import Qt
from qtpy.QtTest import QTest

from tests._napari._gui import canvas, messages, press


def test_ctrl_y_toggles_the_display_and_ctrl_shift_z_redoes(open_in_dock, segment_folder):
    viewer, widget = open_in_dock(segment_folder)
    painter = widget.labels.painter
    assert viewer.layers.selection.active is painter.layer
    painter.set_brush(mode="no_ink")
    painter.stamp_along([(30, 40)])
    painted = painter.canvas.codes.copy()
    press(viewer, "Control-Z")
    undone = painter.canvas.codes.copy()
    assert not np.array_equal(undone, painted)

    press(viewer, "Control-Y")
    assert viewer.dims.ndisplay == 3  # napari's toggle, not a redo
    np.testing.assert_array_equal(painter.canvas.codes, undone)
    press(viewer, "Control-Y")
    assert viewer.dims.ndisplay == 2
    press(viewer, "Control-Shift-Z")
    np.testing.assert_array_equal(painter.canvas.codes, painted)


def test_napari_label_id_keys_size_the_brush_or_do_nothing(painting):
    """napari's - = M X (label ids) on "ink labels": at id -1 napari warned and offered a
    dtype change that ends the painting (review R4, finding 4). - and = size the brush as
    [ and ] do; M and X change nothing. Real key events on the canvas."""
    viewer, widget = painting
    painter, layer = widget.labels.painter, widget.labels.layer
    radius, label = painter.brush.radius, layer.selected_label
    shown = len(messages(0))

    for key in (Qt.Key.Key_Minus, Qt.Key.Key_Minus, Qt.Key.Key_M, Qt.Key.Key_X):
        QTest.keyClick(canvas(viewer).native, key)

    assert painter.brush.radius == pytest.approx(radius / 1.25**2)
    assert widget.brush_panel.radius.value() == pytest.approx(painter.brush.radius, abs=0.5)
    QTest.keyClick(canvas(viewer).native, Qt.Key.Key_Equal)
    assert painter.brush.radius == pytest.approx(radius / 1.25)
    assert layer.selected_label == label
    assert messages(shown) == []
