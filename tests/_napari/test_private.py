"""The partial-redraw shim over napari's private API: a napari release that changes what it
relies on makes these fail, rather than the overlay silently falling back to full refreshes."""

from __future__ import annotations

import numpy as np
import pytest

from inkloop._napari._private import show_image_box
from inkloop.engine import PredictionReady


@pytest.fixture
def uploads(monkeypatch):
    """Every texture upload of an image node: (shape, offset)."""
    from vispy.visuals._scalable_textures import CPUScaledTextureMixin, GPUScaledTextureMixin

    calls = []
    for mixin in (CPUScaledTextureMixin, GPUScaledTextureMixin):
        original = mixin.scale_and_set_data

        def spy(self, data, offset=None, copy=False, _original=original):
            calls.append((data.shape, None if offset is None else tuple(offset)))
            return _original(self, data, offset=offset, copy=copy)

        monkeypatch.setattr(mixin, "scale_and_set_data", spy)
    return calls


def _brightness(viewer, side: str) -> float:
    shot = viewer.screenshot(canvas_only=True, flash=False)[..., :3].mean(-1)
    half = shot.shape[1] // 2
    return float(shot[:, :half].mean() if side == "left" else shot[:, half:].mean())


def test_an_image_box_reaches_the_screen_alone(make_napari_viewer, uploads):
    viewer = make_napari_viewer(show=True)
    layer = viewer.add_image(np.zeros((256, 512), np.uint8), contrast_limits=(0, 255))
    viewer.reset_view()
    viewer.screenshot(canvas_only=True, flash=False)  # drawn once: the texture exists
    uploads.clear()

    layer.data[:, :256] = 255
    assert show_image_box(viewer, layer, (0, 0, 256, 256))

    assert uploads == [((256, 256), (0, 0))]
    assert _brightness(viewer, "left") > _brightness(viewer, "right") + 50


def test_prediction_tiles_update_only_their_box_of_the_overlay(
    make_napari_viewer, uploads, segment_folder, monkeypatch, qtbot
):
    from inkloop._napari._widget import InkLoopWidget

    monkeypatch.setattr(InkLoopWidget, "warm_engine", False)
    viewer = make_napari_viewer(show=True)
    _, widget = viewer.window.add_plugin_dock_widget("napari-inkloop", "Ink Loop")
    widget.open_segment(str(segment_folder))
    loop = widget.loop
    overlay = loop.prediction_layer()
    viewer.screenshot(canvas_only=True, flash=False)
    uploads.clear()
    tile = np.full((16, 24), 0.75, np.float32)

    loop.event_received.emit(loop.generation, PredictionReady(1, (8, 16, 24, 40), 3, tile, 1, 2))
    loop.event_received.emit(loop.generation, PredictionReady(1, (8, 40, 24, 64), 3, tile, 2, 2))
    qtbot.waitUntil(lambda: len(uploads) > 0)

    assert uploads == [((16, 48), (8, 16))]  # two tiles drawn together, nothing else
    assert (overlay.data[8:24, 16:64] == 191).all()
    assert overlay.data.sum() == 191 * 16 * 48
