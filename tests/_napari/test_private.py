"""The partial-redraw shim over napari's private API: a napari release that changes what it
relies on makes these fail, rather than the overlay silently falling back to full refreshes."""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import pytest

from inkloop._napari._labels import labels_layer_data
from inkloop._napari._private import show_image_box, show_labels_box
from inkloop.engine import PredictionReady
from tests._napari._gui import canvas


class Upload(NamedTuple):
    texture: object
    data: np.ndarray  # a copy, as it was handed over
    offset: tuple | None  # None: the whole texture


@pytest.fixture
def uploads(monkeypatch):
    """Every texture upload of an image or labels node, in order."""
    from vispy.visuals._scalable_textures import CPUScaledTextureMixin, GPUScaledTextureMixin

    calls = []
    for mixin in (CPUScaledTextureMixin, GPUScaledTextureMixin):
        original = mixin.scale_and_set_data

        def spy(self, data, offset=None, copy=False, _original=original):
            offset = None if offset is None else tuple(int(o) for o in offset)
            calls.append(Upload(self, np.array(data), offset))
            return _original(self, data, offset=offset, copy=copy)

        monkeypatch.setattr(mixin, "scale_and_set_data", spy)
    return calls


@pytest.fixture
def refreshes(monkeypatch):
    """Every whole-layer refresh: the layers refreshed, in order."""
    from napari.layers import Layer

    calls = []
    original = Layer.refresh

    def spy(self, *args, **kwargs):
        calls.append(self)
        return original(self, *args, **kwargs)

    monkeypatch.setattr(Layer, "refresh", spy)
    return calls


def _boxes(uploads) -> list:
    return [(upload.data.shape[:2], upload.offset) for upload in uploads]


def _texture_content(uploads, texture) -> np.ndarray:
    """What ``texture`` holds after the recorded uploads: whole ones and patches."""
    content = None
    for upload in uploads:
        if upload.texture is not texture:
            continue
        if upload.offset is None:
            content = upload.data.copy()
        else:
            (row, col), (height, width) = upload.offset, upload.data.shape[:2]
            content[row : row + height, col : col + width] = upload.data
    return content


def _whole_upload(uploads, texture) -> np.ndarray:
    """The last whole upload of ``texture`` among ``uploads``: what napari drew it from."""
    whole = [up.data for up in uploads if up.texture is texture and up.offset is None]
    assert whole, "napari uploaded no whole texture"
    return whole[-1]


def _past_the_texture_limit(viewer) -> int:
    """A width just past this GL's ``GL_MAX_TEXTURE_SIZE``, as the viewer's context reports it."""
    from vispy.gloo import gl

    canvas(viewer)._scene_canvas.set_current()
    limit = int(gl.glGetParameter(gl.GL_MAX_TEXTURE_SIZE))
    if limit > 32768:
        pytest.skip(f"GL_MAX_TEXTURE_SIZE {limit}: a layer past it is too large for a fast test")
    return limit + 500


def _draw(viewer) -> None:
    viewer.screenshot(canvas_only=True, flash=False)


def _node(viewer, layer):
    return viewer.window._qt_viewer.layer_to_visual[layer].node


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

    assert _boxes(uploads) == [((256, 256), (0, 0))]
    assert _brightness(viewer, "left") > _brightness(viewer, "right") + 50


def test_prediction_tiles_update_only_their_box_of_the_overlay(
    make_napari_viewer, uploads, segment_folder, monkeypatch, qtbot
):
    from inkloop._napari._widget import InkLoopWidget

    monkeypatch.setattr(InkLoopWidget, "warm_engine", False)
    viewer = make_napari_viewer(show=True)
    _, widget = viewer.window.add_plugin_dock_widget("napari-inkloop", "Ink Loop")
    widget.open_segment(str(segment_folder), wait=True)
    loop = widget.loop
    overlay = loop.prediction_layer()
    viewer.screenshot(canvas_only=True, flash=False)
    uploads.clear()
    tile = np.full((16, 24), 0.75, np.float32)

    loop.event_received.emit(loop.generation, PredictionReady(1, (8, 16, 24, 40), 3, tile, 1, 2))
    loop.event_received.emit(loop.generation, PredictionReady(1, (8, 40, 24, 64), 3, tile, 2, 2))
    qtbot.waitUntil(lambda: len(uploads) > 0)

    assert _boxes(uploads) == [((16, 48), (8, 16))]  # two tiles drawn together, nothing else
    assert (overlay.data[8:24, 16:64] == 191).all()
    assert overlay.data.sum() == 191 * 16 * 48


def test_an_image_box_past_the_texture_limit_reaches_only_its_tiles(
    make_napari_viewer, uploads, refreshes
):
    from napari._vispy.layers.tiled_image import TiledImageNode

    viewer = make_napari_viewer(show=True)
    width = _past_the_texture_limit(viewer)
    layer = viewer.add_image(np.zeros((64, width), np.uint8), contrast_limits=(0, 255))
    _draw(viewer)  # drawn once: the tile textures exist
    node = _node(viewer, layer)
    assert isinstance(node, TiledImageNode), "napari no longer tiles an image this wide"
    tile = node.tile_size
    drawn = len(uploads)
    refreshes.clear()

    box = (8, tile - 100, 40, tile + 200)  # across the two tiles' seam
    layer.data[8:40, tile - 100 : tile + 200] = np.random.default_rng(0).integers(1, 256, (32, 300))
    assert show_image_box(viewer, layer, box)

    assert refreshes == []
    assert _boxes(uploads[drawn:]) == [((32, 100), (8, tile - 100)), ((32, 200), (8, 0))]
    patched = [_texture_content(uploads, child._texture) for child in node.adopted_children]
    layer.refresh()  # what napari's whole redraw uploads
    _draw(viewer)
    for child, content in zip(node.adopted_children, patched, strict=True):
        np.testing.assert_array_equal(content, _whole_upload(uploads[drawn:], child._texture))


def test_a_labels_box_past_the_texture_limit_reaches_the_downsampled_texture_alone(
    make_napari_viewer, uploads, refreshes
):
    viewer = make_napari_viewer(show=True)
    width = _past_the_texture_limit(viewer)
    nothing = np.zeros((64, width), np.float32)
    codes, kwargs, _ = labels_layer_data(nothing, nothing.astype(bool), "test", {})
    with pytest.warns(UserWarning, match="downsampled"):  # napari halves its columns
        layer = viewer.add_labels(codes, **kwargs)
    _draw(viewer)
    texture = _node(viewer, layer)._texture
    assert texture.shape[:2] == (64, -(-width // 2))
    drawn = len(uploads)
    refreshes.clear()

    y0, x0, y1, x1 = 3, width - 607, 50, width - 2  # odd columns: the box starts between texels
    layer.data[y0:y1, x0:x1] = np.random.default_rng(0).integers(0, 257, (y1 - y0, x1 - x0))
    show_labels_box(layer, (y0, x0, y1, x1))

    assert refreshes == []
    assert _boxes(uploads[drawn:]) == [((47, 302), (y0, (x0 + 1) // 2))]
    patched = _texture_content(uploads, texture)
    with pytest.warns(UserWarning, match="downsampled"):
        layer.refresh()  # what napari's whole redraw uploads
    _draw(viewer)
    np.testing.assert_array_equal(patched, _whole_upload(uploads[drawn:], texture))
