"""The "validation region" layer itself: deleting it deletes the region, and a dock opened
on a viewer that already shows one follows it if it is this segment's (the layer wins over
the file) and retires it if it is another segment's, restoring this segment's own."""

from __future__ import annotations

import json

import numpy as np

from inkloop._napari._loop_panel import READY_TEXT, VALIDATION_LAYER
from inkloop._napari._widget import InkLoopWidget
from inkloop.io import open_segment, save_validation_region, validation_path
from inkloop.synthetic import write_segment

# drawn on the pixels' edges: the box of rows 10..49, columns 30..79
RECTANGLE = np.array([[10, 30], [50, 80]], float) - 0.5


def _kept(segment):
    path = validation_path(segment)
    return tuple(json.loads(path.read_text())["validation_region"]) if path.exists() else None


def _draw_region(viewer, widget):
    widget.loop_panel.validation_button.click()
    viewer.layers[VALIDATION_LAYER].add_rectangles(RECTANGLE)
    return widget.labels.segment


def _docked(make_napari_viewer, monkeypatch, folder):
    """A viewer, its Ink Loop dock (to close with its X) and widget, ``folder`` open."""
    monkeypatch.setattr(InkLoopWidget, "warm_engine", False)
    viewer = make_napari_viewer()
    dock, widget = viewer.window.add_plugin_dock_widget("napari-inkloop", "Ink Loop")
    widget.open_segment(str(folder), wait=True)
    return viewer, dock, widget


def test_deleting_the_region_layer_deletes_the_region(open_in_dock, segment_folder, qtbot):
    viewer, widget = open_in_dock(segment_folder)
    segment = _draw_region(viewer, widget)
    assert _kept(segment) == (10, 30, 50, 80)

    viewer.layers.remove(VALIDATION_LAYER)  # the layer list's delete button

    qtbot.waitUntil(lambda: _kept(segment) is None)
    assert widget.run_settings().validation is None
    qtbot.waitUntil(lambda: widget.loop_panel.status.text() == READY_TEXT)


def test_closing_the_viewer_keeps_the_region(open_in_dock, segment_folder, qtbot):
    viewer, widget = open_in_dock(segment_folder)
    segment = _draw_region(viewer, widget)
    viewer.close()  # removes every layer, the region's too
    qtbot.wait(0)  # a turn of the event loop: what a deleted layer would wait for
    assert _kept(segment) == (10, 30, 50, 80)


def test_closing_the_viewer_with_the_region_below_the_labels_raises_nothing(
    open_in_dock, segment_folder, qtbot
):
    # the labels' layer goes first then, and the dock lets go of its loop within the same
    # "removed" event that still reaches the region's handler
    viewer, widget = open_in_dock(segment_folder)
    segment = _draw_region(viewer, widget)
    layers = viewer.layers
    layers.move(layers.index(VALIDATION_LAYER), 0)
    viewer.close()
    qtbot.wait(0)
    assert _kept(segment) == (10, 30, 50, 80)


def test_a_reopened_dock_follows_the_segments_region_layer_which_wins_over_the_file(
    make_napari_viewer, monkeypatch, segment_folder
):
    viewer, dock, widget = _docked(make_napari_viewer, monkeypatch, segment_folder)
    segment = _draw_region(viewer, widget)
    viewer.window.remove_dock_widget(dock)
    shapes = viewer.layers[VALIDATION_LAYER]
    shapes.data = [np.array([[20, 40], [20, 90], [60, 90], [60, 40]], float) - 0.5]  # no dock

    _, widget = viewer.window.add_plugin_dock_widget("napari-inkloop", "Ink Loop")
    assert widget.run_settings().validation == (20, 40, 60, 90)
    assert _kept(segment) == (20, 40, 60, 90)  # the layer won

    shapes.data = [np.array([[5, 5], [5, 50], [30, 50], [30, 5]], float) - 0.5]
    assert _kept(segment) == (5, 5, 30, 50)  # followed
    shapes.data = []
    assert _kept(segment) is None


def test_a_dock_opened_on_another_segments_region_retires_it_and_restores_its_own(
    make_napari_viewer, monkeypatch, segment_folder, tmp_path
):
    viewer, dock, widget = _docked(make_napari_viewer, monkeypatch, segment_folder)
    first = _draw_region(viewer, widget)
    viewer.window.remove_dock_widget(dock)
    other = write_segment(tmp_path / "other", 200, 300, 6, seed=4)
    save_validation_region(open_segment(other), (40, 150, 90, 220))  # its own, kept before
    viewer.open(str(other), plugin="napari-inkloop")

    _, widget = viewer.window.add_plugin_dock_widget("napari-inkloop", "Ink Loop")

    assert widget.labels.segment.name == "other"
    assert widget.run_settings().validation == (40, 150, 90, 220)
    retired = viewer.layers[f"{first.name} {VALIDATION_LAYER}"]
    assert not retired.visible
    assert _kept(first) == (10, 30, 50, 80)  # the first segment's stays its own
    assert "rows 40–90, columns 150–220" in widget.loop_panel.status.text()
