"""Partial redraws under napari's Transpose (dims order (..., x, y)): a square layer's slice
is then its data transposed, the same shape, so a box written into it lands at its mirror."""

from __future__ import annotations

import numpy as np
import pytest

from inkloop._napari._widget import InkLoopWidget
from inkloop.canvas import LabelCanvas
from inkloop.engine import PredictionReady
from inkloop.synthetic import write_segment
from tests._napari._gui import press

SIDE = 96  # square: napari's Transpose keeps the slice's shape


@pytest.fixture
def square_folder(tmp_path):
    """A square segment, labelled: its true ink as ink, the rest as no ink."""
    return write_segment(tmp_path / "square", SIDE, SIDE, 4, seed=5)


def _transpose(viewer) -> None:
    """Select "ink labels" and transpose the view, as napari's Transpose button does."""
    viewer.layers.selection.active = viewer.layers["ink labels"]
    viewer.dims.transpose()


def test_a_stroke_in_a_transposed_view_changes_only_its_own_pixels_and_undoes(
    open_in_dock, square_folder
):
    viewer, widget = open_in_dock(square_folder)
    _transpose(viewer)
    layer, painter = widget.labels.layer, widget.labels.painter
    before = layer.data.copy()
    painter.set_brush(mode="erase", radius=4, hardness=1.0)
    point = (36.0, 30.0)
    expected = before.copy()
    LabelCanvas.from_codes(expected).stamp(*point, painter.brush)
    rows, cols = np.nonzero(expected != before)
    assert before[36, 30] > 1  # ink, which the stroke wipes...
    assert expected[36, 30] == 0
    assert (expected[rows, cols] != before[cols, rows]).any()  # ...a copy at its mirror would too

    painter.stamp_along([point])

    np.testing.assert_array_equal(layer.data, expected)
    press(viewer, "Control-Z")
    np.testing.assert_array_equal(layer.data, before)


def test_a_streamed_tile_in_a_transposed_view_is_drawn_where_its_data_is(
    make_napari_viewer, monkeypatch, square_folder, qtbot
):
    monkeypatch.setattr(InkLoopWidget, "warm_engine", False)
    viewer = make_napari_viewer(show=True)  # on the screen: screenshots
    _, widget = viewer.window.add_plugin_dock_widget("napari-inkloop", "Ink Loop")
    widget.open_segment(str(square_folder), wait=True)
    _transpose(viewer)
    loop = widget.loop
    overlay = loop.prediction_layer()
    region = (8, 48, 40, 88)  # its mirror (48, 8, 88, 40) does not overlap it
    tile = np.ones((32, 40), np.float32)

    loop.event_received.emit(loop.generation, PredictionReady(1, region, 3, tile, 1, 1))
    qtbot.waitUntil(lambda: loop.overlay._unshown is None)  # the tile's box is redrawn
    drawn = _screenshot(viewer)
    overlay.refresh()  # napari's own whole redraw, from the data
    refreshed = _screenshot(viewer)
    overlay.visible = False

    np.testing.assert_array_equal(drawn, refreshed)
    assert (refreshed != _screenshot(viewer)).any()  # the tile is on the screen


def _screenshot(viewer) -> np.ndarray:
    return viewer.screenshot(canvas_only=True, flash=False)
