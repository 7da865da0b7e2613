"""`inkloop evaluate` (`inkloop.headless.evaluate_file`): a prediction file scored against
ink labels."""

from __future__ import annotations

from pathlib import Path


def _of_region_alone(shape, labels: Path, region) -> bool:
    """Whether a prediction of ``shape`` is of ``region`` alone (`inkloop predict --region`
    writes that) while the ``labels`` cover the segment."""
    from inkloop.io._images import image_info

    if region is None:
        return False
    y0, x0, y1, x1 = region
    full = image_info(labels).shape
    return tuple(shape) == (y1 - y0, x1 - x0) and full != tuple(shape)


def evaluate_file(
    prediction: str | Path,
    labels: str | Path,
    supervision: str | Path | None = None,
    region=None,
) -> dict:
    """`inkloop evaluate`: scores of a prediction file against ink labels (JSON-ready), on
    the ``supervision`` mask's pixels (default: all) inside ``region`` (y0, x0, y1, x1;
    default: everywhere), with the share of them that is ink and the F0.5 of calling every
    one ink (what a score must beat)."""
    from inkloop.boxes import check_box
    from inkloop.io import read_label_image, read_prediction
    from inkloop.io._images import image_info
    from inkloop.io._label_images import crop_padding
    from inkloop.metrics import best_scores, chance_scores, scores

    prediction, labels = Path(prediction).expanduser(), Path(labels).expanduser()
    supervision = None if supervision is None else Path(supervision).expanduser()
    # a Grand Prize prediction is written padded: its top-left is the labels' size
    probability = crop_padding(read_prediction(prediction), image_info(labels).shape, prediction)
    of_region = _of_region_alone(probability.shape, labels, region)
    shape, of = probability.shape, f"the prediction {prediction.name} is"
    if of_region:  # scored against that part of the labels
        shape, of = image_info(labels).shape, f"the labels {labels.name} are"
    ink = read_label_image(labels, shape, ink=True, of=of)
    supervised = None  # every pixel: no mask built
    if supervision is not None:
        supervised = read_label_image(supervision, shape, ink=False, of=of)
    if region is not None:  # views of the rectangle, not masks of the whole image
        y0, x0, y1, x1 = check_box(region, shape, "region", "labels" if of_region else "prediction")
        probability = probability if of_region else probability[y0:y1, x0:x1]
        ink = ink[y0:y1, x0:x1]
        supervised = None if supervised is None else supervised[y0:y1, x0:x1]
    if supervised is not None and not supervised.any():
        raise ValueError("no pixel to score: the supervision mask is empty there")
    chance = chance_scores(ink, supervised)
    return {
        **best_scores(probability, ink, supervised).to_dict(),
        "at_0.5": scores(probability, ink, supervised).to_dict(),
        "ink_share": round(chance.precision, 4),
        "chance_f05": round(chance.f05, 4),
    }
