"""The validation region in the dock: one rectangle, the brush back after drawing it, kept
beside the labels and restored when the segment opens again; the idle status follows the
labels."""

from __future__ import annotations

import json

import numpy as np

from inkloop._napari._loop_panel import READY_TEXT, START_TEXT, VALIDATION_LAYER
from inkloop.io import validation_path
from tests._napari._gui import drag, messages


def test_a_drawn_rectangle_hands_the_brush_back_and_a_newer_one_replaces_it(
    open_in_dock, unlabelled_folder, qtbot
):
    viewer, widget = open_in_dock(unlabelled_folder)
    painter = widget.labels.painter
    widget.loop_panel.validation_button.click()
    drag(viewer, [(10, 10), (40, 60)], qtbot)  # the rectangle
    shapes = viewer.layers[VALIDATION_LAYER]
    assert viewer.layers.selection.active is painter.layer

    drag(viewer, [(100, 100), (100, 160)], qtbot)  # a brush stroke, not a second rectangle
    assert painter.canvas.supervised[100, 100:161].all()
    assert len(shapes.data) == 1

    widget.loop_panel.validation_button.click()  # moved: drawn again elsewhere
    drag(viewer, [(150, 200), (190, 290)], qtbot)
    assert len(shapes.data) == 1
    y0, x0, y1, x1 = widget.run_settings().validation
    assert np.allclose((y0, x0, y1, x1), (150, 200, 190, 290), atol=1)  # the mouse's pixels
    assert viewer.layers.selection.active is painter.layer
    said = f"Validation region: rows {y0}–{y1}, columns {x0}–{x1}; its labels stay out"
    assert said in widget.loop_panel.status.text()


def test_the_validation_region_is_kept_beside_the_labels_and_held_out_after_a_reopen(
    open_in_dock, segment_folder, qtbot
):
    viewer, widget = open_in_dock(segment_folder)
    widget.loop_panel.validation_button.click()
    viewer.layers[VALIDATION_LAYER].add_rectangles(np.array([[10.4, 30.0], [50.0, 80.6]]))
    kept = validation_path(widget.labels.segment)
    # the pixels whose centres lie inside: row 10's (10.0 < 10.4) does not, row 50's does
    assert json.loads(kept.read_text()) == {"validation_region": [11, 30, 51, 81]}

    viewer, widget = open_in_dock(segment_folder)  # another session on the same segment

    assert widget.run_settings().validation == (11, 30, 51, 81)  # its labels stay held out
    shapes = viewer.layers[VALIDATION_LAYER]
    assert viewer.layers.selection.active is widget.labels.layer  # the brush paints on
    restored = "Validation region restored: rows 11–51, columns 30–81; its labels stay out"
    assert restored in widget.loop_panel.status.text()
    qtbot.waitUntil(  # once the label worker has read what the saved labels teach
        lambda: widget.loop_panel.status.text() == f"{READY_TEXT} {restored} of training."
    )
    shapes.data = []  # deleted: no region, now or when opened again
    assert widget.run_settings().validation is None
    assert not kept.exists()
    assert widget.loop_panel.status.text() == READY_TEXT


def test_the_idle_status_follows_the_labels(open_in_dock, unlabelled_folder):
    _, widget = open_in_dock(unlabelled_folder)
    painter, status = widget.labels.painter, widget.loop_panel.status
    assert status.text() == START_TEXT
    painter.stamp_along([(50, 50), (50, 120)])  # the default soft ink brush: ink alone
    assert status.text() == START_TEXT
    painter.set_brush(mode="no_ink")
    painter.stamp_along([(150, 50), (150, 120)])
    assert status.text() == READY_TEXT
    painter.undo()
    assert status.text() == START_TEXT


def test_a_region_file_that_cannot_be_read_is_said_and_the_segment_opens(
    open_in_dock, segment_folder
):
    broken = segment_folder / f"{segment_folder.name}_validation_region.json"
    broken.write_text("{")
    shown = len(messages(0))
    viewer, widget = open_in_dock(segment_folder)
    (said,) = [m for m in messages(shown) if "validation region" in m]
    assert said.startswith(f"Ink Loop: the validation region was not restored: {broken}: ")
    assert widget.run_settings().validation is None
    assert VALIDATION_LAYER not in viewer.layers
    assert broken.read_text() == "{"  # left for the user to mend
