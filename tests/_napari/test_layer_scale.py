"""A segment whose layers the user gave a physical scale and moved (napari's Paste scale and
transforms, or ``layer.scale`` in the console): the layers the dock adds lie over the labels'
pixels and follow them, and a rectangle, an accept or a camera move means the label pixels
under it on screen."""

from __future__ import annotations

import numpy as np
import pytest

from inkloop._napari._guide_panel import ACCEPT_LAYER
from inkloop._napari._loop_panel import VALIDATION_LAYER
from inkloop._napari._overlay import PREDICTION_LAYER, UNCERTAINTY_LAYER
from inkloop.engine import Ranked, SegmentPredicted
from inkloop.io import read_validation_region
from tests._napari._gui import canvas, drag

SCALE, TRANSLATE = np.array([2.0, 2.0]), np.array([10.0, -6.0])  # world units per pixel
BOX = (10, 20, 31, 61)  # label pixels (y0, x0, y1, x1), ends exclusive


def _world(pixel) -> np.ndarray:
    """Where label pixel (y, x) lies in the world."""
    return TRANSLATE + SCALE * np.asarray(pixel, float)


def _scale_segment(viewer) -> None:
    """The segment's layers (the volume is (layer, y, x)) at SCALE, moved by TRANSLATE."""
    for layer in viewer.layers:
        layer.scale = (*layer.scale[:-2], *SCALE)
        layer.translate = (*layer.translate[:-2], *TRANSLATE)
    viewer.reset_view()


def _drag_around_box(viewer, qtbot) -> None:
    """A rectangle dragged a quarter pixel outside BOX's pixels, in the world."""
    y0, x0, y1, x1 = BOX
    corners = [_world((y0 - 0.75, x0 - 0.75)), _world((y1 - 0.25, x1 - 0.25))]
    drag(viewer, [tuple(corner) for corner in corners], qtbot)


def _same_world_extent(layer, labels) -> None:
    np.testing.assert_allclose(layer.extent.world, labels.extent.world)


def test_the_overlay_lies_over_the_labels_and_follows_them(segment_widget):
    loop, viewer = segment_widget.loop, segment_widget.viewer
    labels = loop.labels.layer
    _scale_segment(viewer)
    loop.prediction_layer()
    for name in (PREDICTION_LAYER, UNCERTAINTY_LAYER):
        _same_world_extent(viewer.layers[name], labels)

    labels.scale, labels.translate = (3.0, 0.5), (-4.0, 7.0)  # the labels alone, moved again

    for name in (PREDICTION_LAYER, UNCERTAINTY_LAYER):
        _same_world_extent(viewer.layers[name], labels)


def test_a_validation_rectangle_holds_out_the_label_pixels_under_it(segment_widget, qtbot):
    viewer, widget = segment_widget.viewer, segment_widget
    _scale_segment(viewer)
    widget.loop_panel.validation_button.click()

    _drag_around_box(viewer, qtbot)

    assert widget.run_settings().validation == BOX
    assert read_validation_region(widget.labels.segment) == BOX
    widget.labels.layer.translate = (40.0, 40.0)  # the rectangle moves with the labels
    np.testing.assert_allclose(viewer.layers[VALIDATION_LAYER].translate, (40.0, 40.0))
    assert widget.run_settings().validation == BOX


def test_accept_in_rectangle_takes_the_prediction_shown_under_it(segment_widget, qtbot):
    loop, viewer = segment_widget.loop, segment_widget.viewer
    painter = loop.labels.painter
    height, width = loop.labels.segment.shape[1:]
    _scale_segment(viewer)
    rng = np.random.default_rng(0)
    loop.prediction_layer()
    loop.overlay.show((0, 0, height, width), rng.uniform(0.6, 1.0, (height, width)))
    painter.canvas.codes[...] = 0  # nothing labelled: all of it open to accept
    segment_widget.guide_panel.accept_button.click()

    _drag_around_box(viewer, qtbot)

    y0, x0, y1, x1 = BOX
    codes = painter.canvas.codes
    assert np.count_nonzero(codes) == (y1 - y0) * (x1 - x0)
    np.testing.assert_array_equal(codes[y0:y1, x0:x1], painter.accepted_now()[y0:y1, x0:x1])
    prediction = viewer.layers[PREDICTION_LAYER]
    for pixel in ((y0, x0), (y1 - 1, x1 - 1)):  # the prediction pixel shown over each
        np.testing.assert_allclose(prediction.world_to_data(_world(pixel)), pixel)
    np.testing.assert_allclose(viewer.layers[ACCEPT_LAYER].scale, SCALE)


def test_next_centres_the_camera_on_the_box_in_the_world(segment_widget, monkeypatch):
    loop, guide = segment_widget.loop, segment_widget.guide_panel
    _scale_segment(segment_widget.viewer)
    monkeypatch.setattr(loop, "rank", lambda box, tiles, seed: 1)
    box = (8, 16, 24, 48)
    loop.labels.painter.canvas.codes[8:24, 16:48] = 0  # unlabelled: open to suggest
    assert guide.go_next() is None
    loop.changed.emit(Ranked(1, ((0.9, box),), 0))

    assert guide.go_next() == box

    np.testing.assert_allclose(loop.camera.center[-2:], _world((16, 32)))
    loop.camera.zoom *= 8  # closer: all the view lies on the segment
    canvas(segment_widget.viewer).on_draw(None)  # napari finds the pixels in view as it draws
    y0, x0, y1, x1 = loop.visible_region()  # the label pixels a preview asks for
    assert ((y0 + y1) / 2, (x0 + x1) / 2) == pytest.approx((16, 32), abs=1)


def test_a_whole_segment_prediction_opens_over_its_label_pixels(
    segment_widget, monkeypatch, tmp_path
):
    import dask.array as da

    from inkloop.predict import write_prediction

    loop, viewer = segment_widget.loop, segment_widget.viewer
    panel = segment_widget.predict_panel
    _scale_segment(viewer)
    region = da.full((16, 24), 0.8, dtype=np.float32, chunks=(16, 24))
    # a region's prediction: its first pixel is label pixel (8, 12)
    path = write_prediction(region, tmp_path / "r.png", progress=False, origin=(8, 12))
    monkeypatch.setattr(loop, "predict_segment", lambda out, tta, replace: 7)
    panel.predict()

    loop.changed.emit(SegmentPredicted(7, str(path), 1.0, 1))

    layer = viewer.layers[f"{loop.labels.segment.name} prediction"]
    np.testing.assert_allclose(layer.data_to_world((0, 0)), _world((8, 12)))
    np.testing.assert_allclose(layer.data_to_world((15, 23)), _world((23, 35)))
    loop.labels.layer.translate = (0.0, 0.0)  # it follows the labels
    np.testing.assert_allclose(layer.data_to_world((0, 0)), SCALE * (8, 12))


def test_the_model_input_lies_over_the_region_it_was_read_from(segment_widget, monkeypatch):
    from inkloop.engine import Composed

    loop, viewer = segment_widget.loop, segment_widget.viewer
    _scale_segment(viewer)
    monkeypatch.setattr(loop, "compose_view", lambda: 3)  # the engine's answer is below
    segment_widget.segment_panel.window.preview.click()
    channels = np.zeros((2, 4, 6), np.float32)

    loop.changed.emit(Composed(3, (10, 20, 14, 26), channels, ("layer 2", "layer 3")))

    layer = viewer.layers["model input"]
    np.testing.assert_allclose(layer.data_to_world((0, 0, 0))[1:], _world((10, 20)))
    np.testing.assert_allclose(layer.data_to_world((0, 4, 6))[1:], _world((14, 26)))
