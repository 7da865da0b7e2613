"""The "ink labels" layer: soft labels shown as a napari Labels layer of label codes.

The layer's data *is* the label state (`inkloop.brush.encode_labels`: 0 unlabelled, 1 no ink,
1 + strength for ink), so painting, saving and training all read the same buffer.
"""

from __future__ import annotations

import functools

import numpy as np

from inkloop._napari._say import say_info
from inkloop.brush import NO_INK, UNLABELLED, encode_labels
from inkloop.io import labels_from_prediction

LABELS_LAYER = "ink labels"
LABELS_KEY = "inkloop_soft_labels"  # layer metadata: where the labels came from
# the scroll community's heat map, for the live overlay and whole-segment predictions alike;
# the labels' colours are chosen to stay apart from it (`ink_colormap`)
PREDICTION_COLORMAP = "inferno"
# its soft view starts at p = 0.5: an untrained or unsure model's grey haze stays invisible
SOFT_FROM = 127.0 / 255
NO_INK_COLOUR = (0.2, 0.0, 1.0, 0.8)  # deep blue (`ink_colormap` says why)
INK_FAINT, INK_FULL = (0.0, 0.45, 0.0), (0.0, 0.7, 0.0)  # the ink ramp at strength 0, 1
# where the dock turns a probability map into labels (`inkloop.io.probability_map_message`)
LOAD_PREDICTION_ACTION = "Guide → Load prediction as labels…"
OPACITY, DENSE_OPACITY = 0.7, 0.35  # the layer's; dense: see `densely_labelled`
THINNED = (
    "over a quarter of the image is labelled now: the labels show at {opacity} opacity, as "
    "such labels open, so that the prediction under them shows through (the slider beside "
    '"Labels layer" sets it)'
)


def full_value(dtype) -> float:
    """p = 1 in a prediction of ``dtype``, as `read_prediction` reads it: 1.0 in a float map,
    else its integer type's top."""
    dtype = np.dtype(dtype)
    return 1.0 if dtype.kind in "fb" else float(np.iinfo(dtype).max)


@functools.cache
def ink_colormap():
    """Transparent where unlabelled, deep blue for "no ink", faint to opaque green for ink
    strength 0..1 (soft labels stay visible as soft).

    The prediction (inferno, added onto the papyrus) can only lighten it; these dark,
    saturated colours, laid over it, darken it. So they stay apart from every predicted level
    under red-green and blue-yellow colour blindness too, where inferno's yellow and purple
    looked like a lighter green ink and a lighter blue "no ink" (test_colour_vision.py).
    """
    from napari.utils.colormaps import DirectLabelColormap

    strength = np.arange(256, dtype=np.float32) / 255
    rgb = np.add(INK_FAINT, np.outer(strength, np.subtract(INK_FULL, INK_FAINT)))
    ramp = np.column_stack([rgb, 0.25 + 0.75 * strength])
    colours = {UNLABELLED: (0, 0, 0, 0), None: (0, 0, 0, 0)}
    colours.update({NO_INK + level: tuple(ramp[level]) for level in range(1, 256)})
    colours[NO_INK] = NO_INK_COLOUR
    return DirectLabelColormap(color_dict=colours)


def labels_layer_data(ink, supervised, source: str, metadata: dict) -> tuple:
    """A LayerDataTuple for the "ink labels" layer: at OPACITY, or DENSE_OPACITY where the
    labels are dense (`densely_labelled`)."""
    dense = densely_labelled(supervised)
    return encode_labels(ink, supervised), _labels_kwargs(source, metadata, dense), "labels"


def densely_labelled(labelled: np.ndarray) -> bool:
    """Whether labels (a supervision mask, or label codes) cover over a quarter of the image:
    a fragment labelled whole, its papyrus mostly blue "no ink". The layer then shows at
    DENSE_OPACITY, so that the prediction beneath shows through."""
    return np.count_nonzero(labelled) > labelled.size / 4


def thin_if_dense_now(layer, dense_before: bool) -> None:
    """After a load into ``layer``: where its labels turned dense (they were not before), give
    it the opacity it would open with, and say so; a layer as faint or fainter is left."""
    if dense_before or layer.opacity <= DENSE_OPACITY or not densely_labelled(layer.data):
        return
    layer.opacity = DENSE_OPACITY
    say_info(THINNED.format(opacity=DENSE_OPACITY))


def empty_labels_layer_data(shape: tuple[int, int], source: str, metadata: dict) -> tuple:
    """`labels_layer_data` of a segment with no labels yet: zeros, which cost no memory until
    painted, where encoding two zero images took seconds and GBs at full size."""
    return np.zeros(shape, np.uint16), _labels_kwargs(source, metadata, dense=False), "labels"


def _labels_kwargs(source: str, metadata: dict, dense: bool) -> dict:
    return {
        "name": LABELS_LAYER,
        "colormap": ink_colormap(),
        "opacity": DENSE_OPACITY if dense else OPACITY,
        "metadata": {**metadata, LABELS_KEY: source},
    }


def is_ink_labels(layer) -> bool:
    """True for a soft-label layer this plugin made: napari's Convert to Image keeps its
    metadata and codes in an Image layer, which the brush cannot paint."""
    from napari.layers import Labels

    return (
        isinstance(layer, Labels) and LABELS_KEY in layer.metadata and layer.data.dtype == np.uint16
    )


def prediction_codes(segment, path: str, threshold: float, soft: bool) -> np.ndarray:
    """The label codes a prediction image gives every papyrus pixel (read off the GUI)."""
    ink, supervised = labels_from_prediction(segment, path, threshold, soft)[:2]
    return encode_labels(ink, supervised)


def label_from_prediction(painter, path: str, codes: np.ndarray) -> None:
    """Label from ``codes`` where there are no labels yet (accepting's own rule: one
    undoable stroke)."""
    before = painter.canvas.accepted_pixels
    painter.accept_box((0, 0, *codes.shape), codes)
    labelled = painter.canvas.accepted_pixels - before
    say_info(f"Labelled {labelled:,} pixels from {path}; Ctrl+Z undoes it")
