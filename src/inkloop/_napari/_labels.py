"""The "ink labels" layer: soft labels shown as a napari Labels layer of label codes.

The layer's data *is* the label state (`inkloop.brush.encode_labels`: 0 unlabelled, 1 no ink,
1 + strength for ink), so painting, saving and training all read the same buffer.
"""

from __future__ import annotations

import functools

import numpy as np

from inkloop.brush import NO_INK, UNLABELLED, encode_labels

LABELS_LAYER = "ink labels"
LABELS_KEY = "inkloop_soft_labels"  # layer metadata: where the labels came from
NO_INK_COLOUR = (0.15, 0.55, 1.0, 0.8)  # blue: nothing in the ink ramp comes close
# where the dock turns a probability map into labels (`inkloop.io.probability_map_message`)
LOAD_PREDICTION_ACTION = "Guide → Load prediction as labels…"


@functools.cache
def ink_colormap():
    """Transparent where unlabelled, blue for "no ink", faint to opaque green for ink
    strength 0..1 (soft labels stay visible as soft).

    Green because predictions keep the scroll community's inferno heat map (black, purple,
    red, orange, yellow, white), which never shows green: painted ink is not taken for
    predicted ink where the two overlap.
    """
    from napari.utils.colormaps import DirectLabelColormap

    strength = np.arange(256, dtype=np.float32) / 255
    ramp = np.stack(
        [np.full(256, 0.15), 0.6 + 0.4 * strength, 0.15 + 0.15 * strength, 0.25 + 0.75 * strength]
    )
    colours = {UNLABELLED: (0, 0, 0, 0), None: (0, 0, 0, 0)}
    colours.update({NO_INK + level: tuple(ramp[:, level]) for level in range(1, 256)})
    colours[NO_INK] = NO_INK_COLOUR
    return DirectLabelColormap(color_dict=colours)


def labels_layer_data(ink, supervised, source: str, metadata: dict) -> tuple:
    """A LayerDataTuple for the "ink labels" layer: at 0.7 opacity, or 0.35 where labels
    cover over a quarter of the image (a fragment labelled whole, its papyrus mostly blue
    "no ink"), so that the prediction beneath them shows through."""
    dense = np.count_nonzero(supervised) > supervised.size / 4
    return encode_labels(ink, supervised), _labels_kwargs(source, metadata, dense), "labels"


def empty_labels_layer_data(shape: tuple[int, int], source: str, metadata: dict) -> tuple:
    """`labels_layer_data` of a segment with no labels yet: zeros, which cost no memory until
    painted, where encoding two zero images took seconds and GBs at full size."""
    return np.zeros(shape, np.uint16), _labels_kwargs(source, metadata, dense=False), "labels"


def _labels_kwargs(source: str, metadata: dict, dense: bool) -> dict:
    return {
        "name": LABELS_LAYER,
        "colormap": ink_colormap(),
        "opacity": 0.35 if dense else 0.7,
        "metadata": {**metadata, LABELS_KEY: source},
    }


def is_ink_labels(layer) -> bool:
    """True for a soft-label layer this plugin made: napari's Convert to Image keeps its
    metadata and codes in an Image layer, which the brush cannot paint."""
    from napari.layers import Labels

    return (
        isinstance(layer, Labels) and LABELS_KEY in layer.metadata and layer.data.dtype == np.uint16
    )
