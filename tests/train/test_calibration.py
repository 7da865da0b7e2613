"""ShareCalibration: p = 0.5 calls the labelled share of ink, whatever mix the batches had."""

from __future__ import annotations

import math

import numpy as np
import pytest

from inkloop.train._calibration import ShareCalibration


def _batch(rng, ink_share: float, size: int = 20_000):
    """Logits N(2, 1) on ink and N(-1, 1) on papyrus; ``ink_share`` of the pixels are ink."""
    ink = (rng.random(size) < ink_share).astype(np.float32)
    logits = np.where(ink > 0, rng.normal(2, 1, size), rng.normal(-1, 1, size))
    return logits[None], ink[None], np.ones((1, size), bool)


def test_the_offset_calls_the_labelled_share_from_ink_biased_batches():
    rng = np.random.default_rng(0)
    calibration = ShareCalibration()
    for _ in range(5):
        calibration.add(*_batch(rng, ink_share=0.5))  # the sampler's bias
    offset = calibration.offset(0.1)  # the labels hold 10% ink
    # the share a 10% mix puts above the offset, from the two normals' tails
    called = 0.1 * _above(offset, 2) + 0.9 * _above(offset, -1)
    assert called == pytest.approx(0.1, abs=0.005)
    assert calibration.offset(0.3) < offset  # more labelled ink: a lower bar


def test_soft_labels_count_in_proportion_and_unlabelled_pixels_not_at_all():
    rng = np.random.default_rng(1)
    logits = rng.normal(0, 2, (1, 1000))
    hard = ShareCalibration()
    hard.add(logits, np.ones((1, 1000)), np.ones((1, 1000), bool))
    hard.add(logits, np.zeros((1, 1000)), np.ones((1, 1000), bool))
    soft = ShareCalibration()
    # half ink everywhere, and as many unlabelled pixels far out at +12 (their ink ignored)
    padded = np.concatenate([logits, np.full((1, 1000), 12.0)], axis=1)
    labelled = np.concatenate([np.ones((1, 1000), bool), np.zeros((1, 1000), bool)], axis=1)
    soft.add(padded, np.full((1, 2000), 0.5), labelled)
    shares = (0.05, 0.2, 0.5)  # (each class is normalised: hard's decayed first batch is too)
    assert [soft.offset(s) for s in shares] == pytest.approx([hard.offset(s) for s in shares])
    # both classes look alike here, so the bar is the logits' own (1 - share) quantile
    assert soft.offset(0.5) == pytest.approx(np.quantile(logits, 0.5), abs=0.06)
    assert soft.offset(0.05) == pytest.approx(np.quantile(logits, 0.95), abs=0.06)


def test_no_offset_until_both_classes_were_seen():
    calibration = ShareCalibration()
    assert calibration.offset(0.1) == 0.0
    calibration.add(np.array([[1.0, 2.0]]), np.ones((1, 2)), np.ones((1, 2), bool))
    assert calibration.offset(0.1) == 0.0  # only ink so far


def _above(threshold: float, mean: float) -> float:
    """Share of N(mean, 1) above ``threshold``."""
    return 0.5 * math.erfc((threshold - mean) / math.sqrt(2))
