"""The layer list's thumbnails follow what the dock draws without a whole redraw: a streamed
prediction (refreshed at most about once a second) and finished brush strokes."""

from __future__ import annotations

import numpy as np
import pytest

from inkloop._napari._widget import InkLoopWidget
from tests._events import TIMEOUT
from tests._napari._gui import canvas, drag


@pytest.fixture
def shown(make_napari_viewer, unlabelled_folder, monkeypatch, qtbot):
    """A segment open in the dock of a viewer on the screen (its textures drawn, so the dock
    redraws only the boxes that change): the widget."""
    monkeypatch.setattr(InkLoopWidget, "warm_engine", False)
    viewer = make_napari_viewer(show=True)
    _, widget = viewer.window.add_plugin_dock_widget("napari-inkloop", "Ink Loop")
    widget.open_segment(str(unlabelled_folder), wait=True)
    widget.loop.prediction_layer()
    scene = canvas(viewer)._scene_canvas
    qtbot.waitUntil(lambda: not scene._update_pending)  # drawn, its textures made
    return widget


def _shown(layer) -> int:
    """The brightest colour channel of ``layer``'s thumbnail (its alpha left out)."""
    return int(layer.thumbnail[..., :3].max())


def test_the_prediction_thumbnail_follows_the_tiles_that_arrived(shown, qtbot):
    loop = shown.loop
    height, width = loop.labels.segment.shape[1:]
    layer = loop.prediction_layer()
    empty = _shown(layer)

    loop.overlay.show((0, 0, height, width), np.full((height, width), 0.95, np.float32))

    qtbot.waitUntil(lambda: _shown(layer) > empty + 100, timeout=TIMEOUT * 1000)


def test_the_labels_thumbnail_follows_a_finished_stroke(shown, qtbot):
    viewer, painter = shown.viewer, shown.labels.painter
    layer = viewer.layers["ink labels"]
    painter.set_brush(mode="ink", radius=40, hardness=1.0, strength=1.0)
    before = layer.thumbnail.copy()

    drag(viewer, [(20, 20), (60, 140), (100, 260)], qtbot)

    assert (layer.data > 0).any()
    assert not np.array_equal(layer.thumbnail, before)
