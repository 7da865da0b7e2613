"""Ink labels started from a prediction image (a community model's PNG/TIFF, or inkloop's own):
what `inkloop train --labels-from-prediction` and the dock's Load prediction as labels read."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from inkloop.io._label_images import INK_LEVEL, crop_padding, scaled_fix
from inkloop.io._labels import ALL_PIXELS


def labels_from_prediction(segment, path: str | Path, threshold: float = 0.5, soft: bool = True):
    """Ink labels (uint8) and supervision (bool) started from a prediction image (a community
    model's PNG/TIFF): see `inkloop.brush.ink_from_prediction`; every papyrus pixel labelled,
    or those of the region a prediction of a region alone records it lies in (`inkloop
    predict --region`). Returns them with where they came from; ValueError if the sizes
    differ otherwise, or no pixel would be ink or no papyrus pixel "no ink"."""
    from inkloop.brush import ink_from_prediction

    if not 0 <= threshold <= 1:
        raise ValueError(f"prediction threshold {threshold} must be within 0..1")
    shape = tuple(segment.shape[1:])
    probability, region = _prediction_of(segment, path)
    ink = ink_from_prediction(probability, threshold, soft=soft)
    if not np.any(ink >= INK_LEVEL):
        raise ValueError(_no_ink_from(path, float(probability.max(initial=0)), threshold, soft))
    papyrus = np.ones(shape, bool) if segment.mask is None else np.asarray(segment.mask, bool)
    inside = np.s_[region[0] : region[2], region[1] : region[3]]
    if papyrus[inside].any() and not np.any(ink[papyrus[inside]] == 0):  # both classes
        on_papyrus = probability[papyrus[inside]]
        lowest, highest = np.clip([on_papyrus.min(), on_papyrus.max()], 0, 1).tolist()
        raise ValueError(_no_no_ink_from(path, lowest, highest, threshold))
    kind = f"{'soft' if soft else 'hard'}, threshold {threshold:g}"
    if ink.shape != shape:  # placed where it lies, labelled there alone
        kind += f", of region {shown_region(region)}, where it records it lies"
        ink, papyrus = _placed(ink, inside, shape), _placed(papyrus[inside], inside, shape)
    sources = {"labels_file": f"{path} ({kind})"}
    sources["supervision_file"] = str(segment.files.get("mask", ALL_PIXELS))
    return ink, papyrus, sources


def _prediction_of(segment, path):
    """The prediction at ``path`` as probabilities, with the region (y0, x0, y1, x1) of
    ``segment`` it is of: the whole segment (a Grand Prize one padded: its top-left), or the
    region it records (`recorded_region`). ValueError for another size, naming the segment
    it records being made for where that is another, else with the fix where it records no
    region and is scaled exactly (`scaled_fix`)."""
    from inkloop.io._sidefiles import read_prediction

    shape = tuple(segment.shape[1:])
    probability = crop_padding(read_prediction(path), shape, path)
    found = probability.shape
    region = (0, 0, *shape) if found == shape else recorded_region(path, found, segment.name)
    if region is None or region[2] > shape[0] or region[3] > shape[1]:
        sizes = f"{path}: the prediction is {found[0]} x {found[1]} pixels but {segment.name}"
        sizes += f" is {shape[0]} x {shape[1]}"
        outside = region and f", and it records region {shown_region(region)}, outside it"
        other = made_for_another(path, segment.name)
        raise ValueError(sizes + (outside or other or scaled_fix(found, shape)))
    return probability, region


def _placed(values: np.ndarray, inside, shape) -> np.ndarray:
    """``values`` of a region placed ``inside`` zeros of the segment's ``shape``."""
    placed = np.zeros(shape, values.dtype)
    placed[inside] = values
    return placed


def recorded_region(prediction: str | Path, shape, segment_id: str | None = None):
    """The region (y0, x0, y1, x1) that a prediction of ``shape`` records it is of, from
    the origin inkloop writes into every format, or at the segment's corner (origin (0, 0),
    what any file reads as) from the region of its provenance (`recorded_provenance`), where
    that is a region of ``segment_id`` (None: not known) and not the whole of a smaller
    segment; None for a file that records neither."""
    from inkloop.io._prediction_metadata import recorded_provenance
    from inkloop.io._sidefiles import prediction_origin

    y, x = (int(v) for v in prediction_origin(prediction))
    if (y, x) != (0, 0):
        return y, x, y + shape[0], x + shape[1]
    record = recorded_provenance(prediction) or {}
    if record.get("region") != [0, 0, *shape] or _made_for(record).get("shape") == list(shape):
        return None  # a whole segment's file records the region [0, 0, its size] too
    return None if made_for_another(prediction, segment_id) else (0, 0, *shape)


def made_for_another(prediction: str | Path, segment_id: str | None, shape=None) -> str:
    """ ", and it records being made for segment NAME: is it the right file?" where the
    provenance of ``prediction`` names a segment other than ``segment_id`` or, that not
    known (None), records the file (of ``shape``) as the whole of its segment; else ""."""
    from inkloop.io._prediction_metadata import recorded_provenance

    made_for = _made_for(recorded_provenance(prediction) or {})
    name = made_for.get("name")
    if segment_id is None:
        other = shape is not None and made_for.get("shape") == list(shape)
    else:
        other = name.lower() != segment_id.lower() if isinstance(name, str) else False
    if not other:
        return ""
    return f", and it records being made for segment {name}: is it the right file?"


def _made_for(record: dict) -> dict:
    """The segment a prediction's provenance ``record`` names (name, path, shape), or {}."""
    segment = record.get("segment")
    return segment if isinstance(segment, dict) else {}


def shown_region(region) -> str:
    """``region`` as the command line takes it, Y0:Y1,X0:X1."""
    y0, x0, y1, x1 = region
    return f"{y0}:{y1},{x0}:{x1}"


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
