"""napari's File > Open of the segment open already adds a second copy of its layers on top: the
dock paints the new labels, and its prediction comes up with them, over the new copy's opaque
volume, where its preview shows and what the brush accepts is seen."""

from __future__ import annotations

import numpy as np
from napari.layers import Image

from inkloop._napari._input_preview import INPUT_LAYER
from inkloop._napari._loop_panel import VALIDATION_LAYER
from inkloop._napari._overlay import PREDICTION_LAYER, UNCERTAINTY_LAYER
from inkloop._napari._reader import SEGMENT_PATH_KEY
from inkloop.brush import NO_INK


def test_a_segment_opened_again_keeps_its_prediction_over_the_new_copy(
    open_in_dock, segment_folder
):
    viewer, widget = open_in_dock(segment_folder)
    height, width = widget.labels.segment.shape[1:]
    widget.loop.overlay.show((0, 0, height, width), np.full((height, width), 0.95, np.float32))
    prediction, uncertainty = viewer.layers[PREDICTION_LAYER], viewer.layers[UNCERTAINTY_LAYER]

    viewer.open(str(segment_folder), plugin="napari-inkloop")  # napari's File > Open

    layers, labels = viewer.layers, widget.labels.layer
    assert labels is layers[-1]  # the new copy's labels are painted
    volumes = [i for i, lay in enumerate(layers) if SEGMENT_PATH_KEY in lay.metadata]
    volumes = [i for i in volumes if isinstance(layers[i], Image)]
    assert len(volumes) == 2
    assert layers.index(prediction) == len(layers) - 3  # over the new volume, under its labels
    assert layers.index(uncertainty) == len(layers) - 2
    assert layers.index(prediction) > volumes[-1]
    assert widget.loop.overlay.accepted_shown().prediction is prediction.data  # still its tiles
    assert widget.labels.painter.accepted_now()[0:16, 0:16].min() > NO_INK


def test_a_segment_opened_again_keeps_its_region_and_input_over_the_new_copy(
    open_in_dock, segment_folder
):
    viewer, widget = open_in_dock(segment_folder)
    widget.loop_panel.validation_button.click()  # the "validation region" layer, over the labels
    region = viewer.layers[VALIDATION_LAYER]
    model_input = viewer.add_image(np.zeros((2, 64, 96), np.float32), name=INPUT_LAYER)
    viewer.layers.move(viewer.layers.index(model_input), viewer.layers.index(widget.labels.layer))

    viewer.open(str(segment_folder), plugin="napari-inkloop")  # napari's File > Open

    layers, labels = viewer.layers, widget.labels.layer
    assert layers.index(labels) == len(layers) - 2
    assert layers[-1] is region  # its outline over the labels painted
    assert layers.index(model_input) == len(layers) - 3  # over the new volume, under the labels
