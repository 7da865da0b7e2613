"""Switching between segments in one viewer keeps one set of layers per segment: the dock's
Open brings an open segment back, and its retired overlays come back with it (r1 F1)."""

from __future__ import annotations

import numpy as np
import pytest

from inkloop._napari._overlay import PREDICTION_LAYER, UNCERTAINTY_LAYER
from inkloop.brush import NO_INK
from inkloop.synthetic import write_segment
from tests._napari._gui import messages

INKED = (20, 30)  # a pixel painted on the first segment, inside both segments' first tile


@pytest.fixture
def two_segments(tmp_path):
    return (
        write_segment(tmp_path / "segA", 64, 96, 6, seed=3),
        write_segment(tmp_path / "segB", 48, 80, 6, seed=4),
    )


def _predict_and_paint(widget) -> None:
    """Show the loop a tile of ink and paint a stroke, as a round would."""
    loop = widget.loop
    loop.overlay.show((0, 0, 32, 48), np.full((32, 48), 0.9, np.float32))
    widget.labels.painter.set_brush(mode="ink", radius=1.5, hardness=1.0, strength=1.0)
    widget.labels.painter.stamp_along([INKED])


def test_reopening_a_segment_through_the_dock_brings_back_its_layers(open_in_dock, two_segments):
    first, second = two_segments
    viewer, widget = open_in_dock(first)
    labels_a = widget.labels.layer
    _predict_and_paint(widget)
    widget.open_segment(str(second), wait=True)
    _predict_and_paint(widget)
    counts = [len(viewer.layers)]
    shown = len(messages(0))

    for folder in (first, second, first, second, first):
        widget.open_segment(str(folder), wait=True)
        counts.append(len(viewer.layers))

    assert counts == [counts[0]] * 6  # volume, mask, labels and two overlay layers each
    assert not [layer.name for layer in viewer.layers if "prediction [" in layer.name]
    assert widget.labels.layer is labels_a  # its labels as painted, nothing reloaded
    assert labels_a.data[INKED] > NO_INK
    assert viewer.layers[-1] is labels_a
    assert viewer.layers.selection.active is labels_a
    assert "segA is open already" in messages(shown)[-1]
    prediction = viewer.layers[PREDICTION_LAYER]  # its own, back under its loop name
    assert prediction.visible
    assert prediction.data.shape == (64, 96)
    assert not viewer.layers[UNCERTAINTY_LAYER].visible  # as it was when it was retired
    assert viewer.layers.index(prediction) > viewer.layers.index("segA")  # over its volume
    accepted = widget.labels.painter.accepted_now()  # what it had predicted, still accepted
    assert accepted[0:32, 0:48].min() > NO_INK


def test_a_segment_reopened_through_napari_keeps_one_retired_overlay_each(
    open_in_dock, two_segments
):
    first, second = two_segments
    viewer, widget = open_in_dock(first)
    _predict_and_paint(widget)

    for folder in (second, first):
        viewer.open(str(folder), plugin="napari-inkloop")  # File > Open: napari adds layers
        widget.loop.prediction_layer()
    assert widget.labels.layer is viewer.layers[-1]  # the newest copy is painted
    assert widget.labels.layer.data[INKED] > NO_INK  # with the strokes painted before
    assert viewer.layers[PREDICTION_LAYER].data[0:32, 0:48].min() > 200  # segA's, back
    viewer.open(str(second), plugin="napari-inkloop")

    names = [layer.name for layer in viewer.layers]
    assert names.count(PREDICTION_LAYER) == 1
    assert names.count("segA ink prediction") == 1
    assert not [name for name in names if "prediction [" in name]


def test_a_stale_retired_overlay_is_replaced_by_the_newer_one(open_in_dock, two_segments):
    first, second = two_segments
    viewer, widget = open_in_dock(first)
    _predict_and_paint(widget)
    widget.open_segment(str(second), wait=True)  # segA's overlay retired
    widget.loop.prediction_layer()
    viewer.window.remove_dock_widget(widget.parent())  # the dock's X: segB's overlay stays
    viewer.open(str(first), plugin="napari-inkloop")
    _, dock = viewer.window.add_plugin_dock_widget("napari-inkloop", "Ink Loop")
    dock.loop.prediction_layer()  # segA's new one: its loop name was segB's, left by the X

    dock.open_segment(str(second), wait=True)  # retires it: the older retired copy goes

    names = [layer.name for layer in viewer.layers]
    assert names.count("segA ink prediction") == 1
    assert "segA ink prediction [1]" not in names
    kept = viewer.layers["segA ink prediction"]
    assert not kept.visible
    assert kept.data.max() == 0  # the newer (no tile yet), not the first dock's
    assert dock.labels.segment.name == "segB"
    assert dock.loop.labels is dock.labels
    assert dock.labels.layer is viewer.layers[-1]
    brushes = [cb for cb in dock.labels.layer.mouse_drag_callbacks if "InkPainter" in str(cb)]
    assert len(brushes) == 1  # one session made, not a second inside the first
