"""Where p = 0.5 falls: the logit above which the model calls as much ink as the labels hold.

The sampler centres half the patches on ink and the loss smooths the labels, so a model's raw
probabilities say neither how much ink there is nor where it becomes likelier than not. Closed
forms for each (the prior correction logit(sampled) - logit(labelled); undoing the smoothing)
were each right at one stage of a run and off by up to 1.4 logits at another on the real dev
crop (docs/quality.md, "Calibration, measured instead of derived"). This measures instead:
the inference model's logits over labelled pixels, per class, and the threshold at which the
share it calls ink matches the labels' share of ink.
"""

from __future__ import annotations

import numpy as np

EDGES = np.linspace(-16.0, 16.0, 641)  # 0.05-logit bins
DECAY = 0.8  # per measurement: the model changes as it trains, ~ the last 5 measurements count


class ShareCalibration:
    """Decayed histograms of logits over labelled ink and no-ink pixels (soft labels count in
    proportion); `offset` is the logit to subtract so that p = 0.5 calls the labelled share."""

    def __init__(self) -> None:
        self._ink = np.zeros(len(EDGES) - 1)
        self._paper = np.zeros(len(EDGES) - 1)

    def add(self, logits: np.ndarray, ink: np.ndarray, weight: np.ndarray) -> None:
        """Count ``logits`` (B, H, W) where ``weight``; ``ink`` in 0..1 says how much is ink."""
        # clipped into the edges: np.histogram drops what falls outside them
        logits, ink = np.clip(logits[weight], EDGES[0], EDGES[-1] - 1e-3), ink[weight]
        self._ink = DECAY * self._ink + np.histogram(logits, EDGES, weights=ink)[0]
        self._paper = DECAY * self._paper + np.histogram(logits, EDGES, weights=1 - ink)[0]

    def offset(self, labelled_share: float, default: float = 0.0) -> float:
        """The logit T with labelled_share of the labelled pixels (at the labels' own mix of ink
        and no-ink, whatever mix the batches had) above it; ``default`` until both classes
        were seen."""
        ink, paper = self._ink.sum(), self._paper.sum()
        if not (ink > 0 and paper > 0 and 0 < labelled_share < 1):
            return default
        above = labelled_share * _tail(self._ink) / ink
        above += (1 - labelled_share) * _tail(self._paper) / paper
        # above[k]: the share at or above EDGES[k], falling with k; the first edge at or under
        under = np.flatnonzero(above <= labelled_share)
        return float(EDGES[under[0]] if under.size else EDGES[-1])


def _tail(counts: np.ndarray) -> np.ndarray:
    """Counts at or above each bin's lower edge."""
    return counts[::-1].cumsum()[::-1]
