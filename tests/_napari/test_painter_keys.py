"""The brush's keys leave napari's own alone: Ctrl+Y still toggles 2D/3D on "ink labels"."""

from __future__ import annotations

import numpy as np

from tests._napari._gui import press


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
