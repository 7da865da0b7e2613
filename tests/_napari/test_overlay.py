"""The prediction overlay's layers belong to the open segment: one deleted comes back empty
(nothing to accept), one of another segment's shape is set aside, not drawn into."""

from __future__ import annotations

import numpy as np

from inkloop._napari._overlay import PREDICTION_LAYER, UNCERTAINTY_LAYER
from inkloop.brush import NO_INK, UNLABELLED
from inkloop.synthetic import write_segment


def test_a_deleted_prediction_layer_comes_back_with_nothing_to_accept(segment_widget):
    loop = segment_widget.loop
    viewer = loop.viewer
    height, width = loop.labels.segment.shape[1:]
    loop.prediction_layer()
    loop.overlay.show((0, 0, height, width), np.full((height, width), 0.95, np.float32))
    assert loop.labels.painter.accepted_now()[0:16, 0:16].min() > NO_INK  # the model's ink
    viewer.layers.remove(PREDICTION_LAYER)
    assert loop.labels.painter.accepted_now() is None  # its unseen ink is not accepted
    loop.prediction_layer()  # the next tile or Finetune adds it again, empty
    accepted = loop.labels.painter.accepted_now()[0:height, 0:width]
    assert (accepted == UNLABELLED).all()  # not "no ink" where the model had said ink


def test_a_new_dock_sets_aside_another_segments_overlay(open_in_dock, segment_folder, tmp_path):
    viewer, first = open_in_dock(segment_folder)
    old_shape = first.loop.labels.segment.shape[1:]
    first.loop.prediction_layer()
    viewer.window.remove_dock_widget(first.parent())  # the dock's X; its layers stay
    other = write_segment(tmp_path / "20240202000000", 40, 56, 6, seed=4)
    viewer.open(str(other), plugin="napari-inkloop")
    _, second = viewer.window.add_plugin_dock_widget("napari-inkloop", "Ink Loop")
    assert second is not first
    loop = second.loop
    loop.overlay.show((8, 8, 24, 40), np.full((16, 32), 0.75, np.float32))
    assert viewer.layers[PREDICTION_LAYER].data.shape == (40, 56)
    assert viewer.layers[UNCERTAINTY_LAYER].data.shape == (40, 56)
    assert viewer.layers[PREDICTION_LAYER].data[8:24, 8:40].min() == 191
    set_aside = {layer.name for layer in viewer.layers if layer.data.shape == old_shape}
    assert f"{PREDICTION_LAYER} {old_shape[0]}x{old_shape[1]}" in set_aside


def test_a_closed_loop_shows_nothing_its_engine_had_sent_already(segment_widget):
    from qtpy.QtWidgets import QApplication

    from inkloop.engine import PredictionReady

    loop, viewer = segment_widget.loop, segment_widget.viewer
    late = PredictionReady(1, (0, 0, 8, 8), 0, np.full((8, 8), 0.9, np.float32), 1, 1)
    loop.close()
    loop.event_received.emit(loop.generation, late)  # queued before the close, delivered after it
    QApplication.processEvents()
    assert PREDICTION_LAYER not in viewer.layers
