"""F0.5 (the competition metric), precision, recall and F1 on supervised pixels."""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np


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

    ``ink`` is a 0..1 float or uint8 (255 = ink) map; soft labels count as ink from 0.5 up.
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
        thresholds = np.linspace(0.05, 0.95, 19)
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
    probability = np.asarray(probability, np.float32)
    ink = np.asarray(ink)
    if probability.shape != ink.shape:
        raise ValueError(f"prediction {probability.shape} and labels {ink.shape} differ in shape")
    truth = ink >= (128 if ink.dtype == np.uint8 else 0.5)
    if supervised is None:
        return probability.ravel(), truth.ravel()
    supervised = np.asarray(supervised, bool)
    return probability[supervised], truth[supervised]


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
