"""F0.5 and friends on supervised pixels."""

from __future__ import annotations

import numpy as np
import pytest

from inkloop.metrics import NoInkError, best_scores, chance_scores, scores


def test_scores_count_only_supervised_pixels():
    probability = np.array([[0.9, 0.9, 0.2, 0.8], [0.1, 0.6, 0.9, 0.0]])
    ink = np.array([[255, 255, 0, 0], [0, 255, 255, 0]], np.uint8)
    supervised = np.array([[1, 1, 1, 1], [1, 1, 0, 1]], bool)
    result = scores(probability, ink, supervised, threshold=0.5)
    # supervised predictions > 0.5: (0,0) ink, (0,1) ink, (0,3) no ink, (1,1) ink -> 3 of 4
    # supervised ink: (0,0), (0,1), (1,1) -> all 3 found; (1,2) is unsupervised
    assert result.precision == pytest.approx(0.75)
    assert result.recall == pytest.approx(1.0)
    assert result.f05 == pytest.approx(1.25 * 0.75 / (0.25 * 0.75 + 1.0))
    assert result.f1 == pytest.approx(2 * 0.75 / 1.75)


def test_soft_labels_count_as_ink_from_half_strength():
    probability = np.array([0.9, 0.9, 0.1])
    assert scores(probability, np.array([0.6, 0.4, 0.0])).precision == pytest.approx(0.5)
    assert scores(probability, np.array([200, 100, 0], np.uint8)).recall == pytest.approx(1.0)
    # exactly half strength: the 50 % brush's 128, and 0.5 as a float label
    assert scores(probability, np.array([128, 127, 0], np.uint8)).precision == 0.5
    assert scores(probability, np.array([0.5, 0.49, 0.0])).precision == 0.5


def test_best_threshold_is_found():
    rng = np.random.default_rng(1)
    ink = rng.random((64, 64)) < 0.2
    probability = np.where(ink, 0.7, 0.3) + rng.normal(0, 0.05, ink.shape)
    best = best_scores(probability, ink.astype(np.float32))
    assert best.f05 > 0.99
    assert 0.4 <= best.threshold <= 0.6
    assert best.f05 >= scores(probability, ink.astype(np.float32), threshold=0.2).f05


def test_the_best_threshold_is_the_best_for_f05_not_for_f1():
    # calling the 2 sure pixels ink (p 0.9) has the best F0.5; calling all 8 above 0.1, F1
    probability = np.array([0.9, 0.9, 0.6, 0.6, 0.6, 0.6, 0.6, 0.6, 0.1, 0.1])
    ink = np.array([1, 1, 1, 1, 1, 0, 0, 0, 0, 0], bool)
    best = best_scores(probability, ink)
    assert best.f05 == pytest.approx(1.25 * 0.4 / (0.25 + 0.4))  # precision 1, recall 0.4
    assert best.threshold >= 0.6


def test_a_probability_at_the_threshold_is_not_ink():
    ink = np.array([0, 255], np.uint8)
    assert scores(np.array([0.5, 0.9]), ink, threshold=0.5).precision == 1.0
    assert scores(np.array([0.5, 0.9]), ink, threshold=0.4).precision == 0.5


def test_a_single_pixel_above_the_threshold_is_scored():
    result = scores(np.array([0.1, 0.2, 0.9]), np.array([0, 0, 255], np.uint8))
    assert (result.precision, result.recall) == (1.0, 1.0)


def test_uint8_predictions_are_read_as_255ths():
    # 128 / 255 lies just above 0.5, 127 / 255 just below
    ink = np.array([255, 0], np.uint8)
    assert scores(np.array([128, 127], np.uint8), ink) == scores(np.array([128, 127]) / 255, ink)
    assert scores(np.array([128, 127], np.uint8), ink).recall == 1.0


def test_nothing_predicted_scores_zero_not_nan():
    result = scores(np.zeros(10), np.ones(10))
    assert (result.f05, result.precision, result.recall) == (0.0, 0.0, 0.0)


def test_shapes_must_match():
    with pytest.raises(ValueError, match="differ in shape"):
        scores(np.zeros((2, 2)), np.zeros((2, 3)))


def test_chance_is_calling_every_supervised_pixel_ink():
    ink = np.zeros((10, 10), np.uint8)
    ink[:3] = 255  # 30% ink
    supervised = np.ones((10, 10), bool)
    supervised[:, 5:] = False
    chance = chance_scores(ink, supervised)
    assert chance == scores(np.ones((10, 10), np.float32), ink, supervised)
    assert chance.precision == pytest.approx(0.3)
    assert chance.f05 == pytest.approx(1.25 * 0.3 / (0.25 * 0.3 + 1))
    with pytest.raises(NoInkError, match="the labels hold no ink on the pixels scored"):
        chance_scores(ink, ~supervised & (ink == 0))
