"""napari's layer menu can turn "ink labels" into an Image (Convert to Image) that keeps their
metadata and uint16 codes: the dock no longer takes it for soft labels it can paint."""

from __future__ import annotations

import numpy as np
from napari.layers import Image, Labels
from napari.layers._layer_actions import _convert

from inkloop._napari._labels import LABELS_KEY, LABELS_LAYER, is_ink_labels


def test_only_a_labels_layer_is_ink_labels():
    codes, metadata = np.zeros((4, 6), np.uint16), {LABELS_KEY: "painted"}
    assert is_ink_labels(Labels(codes, metadata=metadata))
    assert not is_ink_labels(Image(codes, metadata=metadata))


def test_ink_labels_converted_to_an_image_are_let_go(painting):
    viewer, widget = painting
    labels = widget.labels.layer
    viewer.layers.selection = {labels}

    _convert(viewer.layers, "image")  # napari's Convert to Image on the selected layer

    image = viewer.layers[LABELS_LAYER]
    assert isinstance(image, Image)
    assert image.data.dtype == np.uint16
    assert LABELS_KEY in image.metadata  # what made the dock take it for labels
    assert widget.labels is None  # nothing to paint: no brush on an image
    assert widget.loop is None
