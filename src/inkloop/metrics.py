"""F0.5 (the competition metric), precision, recall and F1 on supervised pixels."""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from inkloop.io._label_images import INK_LEVEL, ink_levels, mask_values


@dataclass(frozen=True)
class Scores:
    """Pixel scores of ``probability > threshold`` against ``ink >= 0.5``."""

    f05: float
    precision: float
    recall: float
    f1: float
    threshold: float

    def to_dict(self) -> dict:
        return asdict(self)


def scores(
    probability: np.ndarray,
    ink: np.ndarray,
    supervised: np.ndarray | None = None,
    threshold: float = 0.5,
) -> Scores:
    """Scores at one threshold over the supervised pixels (all pixels if ``supervised`` is None).

    ``probability``: floats within 0..1, or uint8 0..255 as a prediction image stores them
    (read as /255, like `inkloop.io.read_prediction`), or bool; other types raise TypeError,
    and floats outside 0..1 (or NaN) on the pixels scored ValueError. ``ink``: what
    `inkloop.io.ink_levels` reads (uint8 with 255 = ink, bool, 0/1, floats within 0..1, ...);
    soft labels count as ink from half strength up.
    """
    return _scores_at(*_flatten(probability, ink, supervised), np.array([threshold]))[0]


def best_scores(
    probability: np.ndarray,
    ink: np.ndarray,
    supervised: np.ndarray | None = None,
    thresholds: np.ndarray | None = None,
) -> Scores:
    """The scores at the threshold with the best F0.5 (default: 0.05, 0.10, ... 0.95)."""
    if thresholds is None:
        thresholds = np.linspace(0.05, 0.95, 19).round(2)  # 0.45, not 0.44999999999999996
    candidates = _scores_at(*_flatten(probability, ink, supervised), np.asarray(thresholds))
    return max(candidates, key=lambda s: s.f05)


class NoInkError(ValueError):
    """Labels without ink on the pixels scored: every score would be 0, whatever the model."""


def chance_scores(ink: np.ndarray, supervised: np.ndarray | None = None) -> Scores:
    """The scores of calling every (supervised) pixel ink (p = 1 at 0.5): what a model has to
    beat. Its precision is the share of the pixels that is ink; counted, not sorted.
    NoInkError if none of them is ink: there is nothing to score against."""
    truth = _flatten(np.zeros(np.shape(ink), np.float32), ink, supervised)[1]
    if not truth.any():
        raise NoInkError("the labels hold no ink on the pixels scored: every score would be 0")
    share = float(truth.mean())
    return Scores(_fbeta(share, 1.0, 0.5), share, 1.0, _fbeta(share, 1.0, 1.0), 0.5)


def _flatten(probability, ink, supervised):
    """The scored pixels' probabilities (float32 0..1) and truth (bool), both flat."""
    probability, ink = np.asarray(probability), ink_levels(ink)
    if probability.shape != ink.shape:
        raise ValueError(f"prediction {probability.shape} and labels {ink.shape} differ in shape")
    truth = ink >= INK_LEVEL
    if supervised is not None:
        scored = mask_values(supervised)
        probability, truth = probability[scored], truth[scored]
    return _probabilities(probability.ravel()), truth.ravel()


def _probabilities(values: np.ndarray) -> np.ndarray:
    """``values`` as float32 0..1: uint8 /255, bool as 0 and 1, floats checked."""
    if values.dtype == np.uint8:
        return values.astype(np.float32) / 255
    if values.dtype == np.bool_:
        return values.astype(np.float32)
    if values.dtype.kind != "f":
        raise TypeError(
            f"prediction of type {values.dtype}: expected floats within 0..1, uint8 0..255 "
            "(read as /255) or bool"
        )
    low, high = (float(values.min()), float(values.max())) if values.size else (0.0, 0.0)
    if not 0 <= low <= high <= 1:  # NaN fails too
        raise ValueError(f"prediction must lie within 0..1, found {low:g}..{high:g}")
    return values.astype(np.float32, copy=False)


def _scores_at(probability: np.ndarray, truth: np.ndarray, thresholds: np.ndarray):
    """Scores for many thresholds from one sort (cumulative counts), not one pass each."""
    order = np.argsort(probability)
    sorted_p = probability[order]
    ink_above = np.cumsum(truth[order][::-1])[::-1]  # ink pixels at or above each rank
    total_ink = int(truth.sum())
    results = []
    for threshold in thresholds.tolist():
        first = int(np.searchsorted(sorted_p, threshold, side="right"))
        predicted = sorted_p.size - first
        hits = int(ink_above[first]) if first < sorted_p.size else 0
        precision = hits / predicted if predicted else 0.0
        recall = hits / total_ink if total_ink else 0.0
        results.append(
            Scores(
                f05=_fbeta(precision, recall, 0.5),
                precision=precision,
                recall=recall,
                f1=_fbeta(precision, recall, 1.0),
                threshold=float(threshold),
            )
        )
    return results


def _fbeta(precision: float, recall: float, beta: float) -> float:
    weight = beta * beta
    denominator = weight * precision + recall
    return (1 + weight) * precision * recall / denominator if denominator else 0.0
