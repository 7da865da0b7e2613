"""`inkloop evaluate` (`inkloop.headless.evaluate_file`): a prediction file scored against
ink labels."""

from __future__ import annotations

from pathlib import Path

import numpy as np

EVERY_PIXEL = "all"  # the supervision that scores every pixel, not the labels' own mask


def evaluate_file(
    prediction: str | Path,
    labels: str | Path,
    supervision: str | Path | None = None,
    region=None,
) -> dict:
    """`inkloop evaluate`: scores of a prediction file against ink labels (JSON-ready), on
    the ``supervision`` mask's pixels (default: the one saved with the labels, as training
    reads it, `saved_supervision`, said; "all" or none saved: every pixel) inside ``region``
    (y0, x0, y1, x1; default: everywhere, or where a prediction of a region alone records it
    lies), with the share of them that is ink, the F0.5 of calling every one ink (what a
    score must beat), and which pixels were scored: ``region`` (of the labels),
    ``supervision`` (the mask's path, or "all") and ``scored_pixels``."""
    from inkloop.boxes import check_box
    from inkloop.io import read_label_image, read_prediction
    from inkloop.io._images import image_info
    from inkloop.io._label_images import crop_padding
    from inkloop.io._labels import saved_supervision
    from inkloop.metrics import best_scores, chance_scores, scores

    prediction, labels = Path(prediction).expanduser(), Path(labels).expanduser()
    paired = supervision is None
    if paired:
        supervision = saved_supervision(labels)
    elif str(supervision) == EVERY_PIXEL:
        supervision = None
    else:
        supervision = Path(supervision).expanduser()
    full = image_info(labels).shape
    # a Grand Prize prediction is written padded: its top-left is the labels' size
    probability = crop_padding(read_prediction(prediction), full, prediction)
    region, of_region = _scored_region(prediction, probability.shape, labels, full, region)
    shape, of = probability.shape, f"the prediction {prediction.name} is"
    if of_region:  # scored against that part of the labels
        shape, of = full, f"the labels {labels.name} are"
    ink = read_label_image(labels, shape, ink=True, of=of)
    supervised = None  # every pixel: no mask built
    if supervision is not None:
        supervised = read_label_image(supervision, shape, ink=False, of=of)
    scored = [0, 0, *shape]
    if region is not None:  # views of the rectangle, not masks of the whole image
        y0, x0, y1, x1 = check_box(region, shape, "region", "labels" if of_region else "prediction")
        scored = [y0, x0, y1, x1]
        probability = probability if of_region else probability[y0:y1, x0:x1]
        ink = ink[y0:y1, x0:x1]
        supervised = None if supervised is None else supervised[y0:y1, x0:x1]
    count = ink.size if supervised is None else np.count_nonzero(supervised)
    if paired and supervised is not None:
        _tell_scored_on(supervision, count, ink.size, region)
    elif not count:
        raise ValueError(
            f"no pixel to score: the supervision mask {supervision.name} is empty there"
        )
    _tell_if_probability_map(ink, supervised, labels)
    chance = chance_scores(ink, supervised)
    return {
        **best_scores(probability, ink, supervised).to_dict(),
        "at_0.5": scores(probability, ink, supervised).to_dict(),
        "ink_share": round(chance.precision, 4),
        "chance_f05": round(chance.f05, 4),
        "region": [int(v) for v in scored],
        "supervision": EVERY_PIXEL if supervision is None else str(supervision),
        "scored_pixels": int(count),
    }


def _tell_scored_on(supervision: Path, count: int, of: int, region) -> None:
    """Say on stderr that the supervision mask saved with the labels picked the ``count``
    pixels scored (of ``of`` in ``region``), and how to score every one instead; ValueError
    where it picked none (a held-out region left out of training by that mask)."""
    from inkloop._command import in_command
    from inkloop._notify import notify
    from inkloop.io._prediction_labels import shown_region

    every = "--supervision all" if in_command() else f"supervision={EVERY_PIXEL!r}"
    where = "" if region is None else f" in the region {shown_region(region)}"
    if not count:
        raise ValueError(
            f"no pixel to score: {supervision.name}, the supervision mask saved with the "
            f"labels, has no labelled pixel{where}; pass {every} to score every pixel there"
        )
    part = f" ({count} of the region's {of} pixels)" if where and count < of else ""
    notify(
        f"scored on the {count} pixels of {supervision.name}{part}, the supervision mask saved "
        f"with the labels ({every}: every pixel)"
    )


def _scored_region(prediction: Path, shape, labels: Path, full, region):
    """The region to score (or None: everywhere) and whether the prediction of ``shape`` is
    of that region alone (`inkloop predict --region` writes one, recording where it lies)
    while the ``labels``, of ``full`` size, cover the segment (of the id their name gives,
    where it gives one: a prediction recording another segment is not placed). A ``region``
    other than the recorded one, or a prediction that cannot be placed, raises ValueError."""
    from inkloop.io import SegmentError
    from inkloop.io._label_images import is_padded, scaled_fix
    from inkloop.io._prediction_labels import made_for_another, recorded_region, shown_region
    from inkloop.io._side_lookup import ink_labels_name

    shape, full = tuple(shape), tuple(full)
    if shape == full or is_padded(full, shape):  # of the whole segment
        return region, False
    labels_id = (ink_labels_name(labels.stem) or (None,))[0]
    recorded = recorded_region(prediction, shape, labels_id)
    if recorded is None and region is not None and _size(region) == shape:
        return region, True
    sizes = f"{labels}: image is {full[0]}x{full[1]} but the prediction {prediction.name} is "
    sizes += f"{shape[0]}x{shape[1]}"
    if recorded is None and (other := made_for_another(prediction, labels_id, shape)):
        raise SegmentError(sizes + other)
    if recorded is None:
        fits = region is None and shape[0] <= full[0] and shape[1] <= full[1]
        scaled = scaled_fix(shape, full)
        if scaled and fits:  # or of a region that size
            scaled += " if it is scaled"
        hint = "; if it is of a region alone, pass --region Y0:Y1,X0:X1 where it lies"
        raise SegmentError(sizes + scaled + (hint if fits else ""))
    if region is not None and tuple(region) != recorded:
        raise ValueError(
            f"{prediction.name} is the prediction of region {shown_region(recorded)} (as it "
            f"records), not of --region {shown_region(region)}: drop --region, or pass that one"
        )
    if recorded[2] > full[0] or recorded[3] > full[1]:
        shown = shown_region(recorded)
        raise SegmentError(f"{sizes}, of region {shown} (as it records), outside the labels")
    return recorded, True


def _size(region) -> tuple[int, int]:
    y0, x0, y1, x1 = region
    return y1 - y0, x1 - x0


def _tell_if_probability_map(ink, supervised, labels: Path) -> None:
    """Say on stderr how labels that look like a model's probability map are read: ink
    where >= 128 (`inkloop train` refuses them, as they would teach faint ink everywhere;
    scored against, they are what the dev protocol's reference is)."""
    from inkloop._notify import notify
    from inkloop.io import probability_map_message

    everywhere = np.broadcast_to(True, np.shape(ink)) if supervised is None else supervised
    problem = probability_map_message(ink, everywhere, labels)
    if problem:
        notify(f"{problem}; scored as ink where >= 128 (p >= 0.5)")
