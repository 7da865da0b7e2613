"""Ink labels started from a prediction image (a community model's PNG/TIFF, or inkloop's own):
what `inkloop train --labels-from-prediction` and the dock's Load prediction as labels read."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from inkloop.io._label_images import INK_LEVEL, crop_padding
from inkloop.io._labels import ALL_PIXELS


def labels_from_prediction(segment, path: str | Path, threshold: float = 0.5, soft: bool = True):
    """Ink labels (uint8) and supervision (bool) started from a prediction image (a community
    model's PNG/TIFF): see `inkloop.brush.ink_from_prediction`; every papyrus pixel labelled.
    Returns them with where they came from; ValueError if the sizes differ, or no pixel would
    be ink or no papyrus pixel "no ink"."""
    from inkloop.brush import ink_from_prediction
    from inkloop.io._sidefiles import read_prediction

    if not 0 <= threshold <= 1:
        raise ValueError(f"prediction threshold {threshold} must be within 0..1")
    shape = tuple(segment.shape[1:])
    probability = crop_padding(read_prediction(path), shape, path)  # a Grand Prize one: padded
    if probability.shape != shape:
        raise ValueError(
            f"{path}: the prediction is {probability.shape[0]} x {probability.shape[1]} pixels "
            f"but {segment.name} is {shape[0]} x {shape[1]}"
        )
    ink = ink_from_prediction(probability, threshold, soft=soft)
    if not np.any(ink >= INK_LEVEL):
        raise ValueError(_no_ink_from(path, float(probability.max(initial=0)), threshold, soft))
    papyrus = np.ones(shape, bool) if segment.mask is None else np.asarray(segment.mask, bool)
    if papyrus.any() and not np.any(ink[papyrus] == 0):  # training needs both classes
        on_papyrus = probability[papyrus]
        lowest, highest = np.clip([on_papyrus.min(), on_papyrus.max()], 0, 1).tolist()
        raise ValueError(_no_no_ink_from(path, lowest, highest, threshold))
    kind = "soft" if soft else "hard"
    sources = {"labels_file": f"{path} ({kind}, threshold {threshold:g})"}
    sources["supervision_file"] = str(segment.files.get("mask", ALL_PIXELS))
    return ink, papyrus, sources


def _no_ink_from(path, highest: float, threshold: float, soft: bool) -> str:
    """Why labels from a prediction whose highest value is ``highest`` hold no ink, and a
    threshold that would make some (floored: the highest value must reach it), in words
    for the command line's options and the dock's controls alike."""
    lower = math.floor(highest * 100) / 100
    found = f"(the highest is {math.floor(highest * 1000) / 1000:g})"
    if lower == 0:
        return f"{path}: the prediction holds no ink {found}: is it the right file?"
    if soft and highest < INK_LEVEL / 255:
        return (
            f"{path}: no pixel of the prediction reaches 0.5, where soft labels begin to be "
            f"ink {found}: load it as hard labels (not soft) from a threshold of {lower:g}"
        )
    return (
        f"{path}: no pixel of the prediction reaches the threshold {threshold:g} {found}: "
        f"lower the threshold to {lower:g}"
    )


def _no_no_ink_from(path, lowest: float, highest: float, threshold: float) -> str:
    """Why labels from a prediction whose lowest value on the papyrus is ``lowest`` hold no
    "no ink", and a threshold that would make some (the lowest must fall below it), in words
    for the command line's options and the dock's controls alike."""
    found = f"(the lowest is {math.floor(lowest * 1000) / 1000:g})"
    raised = math.ceil((round(lowest * 255) + 1) * 100 / 255) / 100  # its level below it
    told = f"{path}: no papyrus pixel of the prediction is below the threshold {threshold:g}"
    if raised > highest:  # no threshold leaves ink above it either
        return (
            f"{told} {found}, and no threshold leaves both ink and 'no ink': is it the right file?"
        )
    return f"{told}, so none is 'no ink' {found}: raise the threshold to {raised:g}"
