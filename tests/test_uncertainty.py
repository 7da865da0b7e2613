"""Uncertainty 4 p (1 - p), boxes ranked by it, and the next box not yet visited."""

from __future__ import annotations

import numpy as np

from inkloop.uncertainty import next_box, rank_boxes, uncertainty


def test_uncertainty_peaks_where_the_model_says_one_half():
    assert uncertainty(np.array([0.0, 0.25, 0.5, 1.0])).tolist() == [0, 191, 255, 0]


def test_boxes_rank_by_doubt_over_their_open_pixels_only():
    probability = np.full((64, 64), 0.02, np.float32)
    probability[:32, 32:] = 0.5  # unsure, but labelled: not offered
    probability[32:, :32] = 0.4  # unsure and open
    probability[32:, 32:] = 0.9
    open_area = np.ones((64, 64), bool)
    open_area[:32, 32:] = False
    open_area[40:, 40:] = False  # most of the bottom-right box is labelled too
    ranked = rank_boxes(probability, (100, 200), open_area, 32)
    boxes = [box for _, box in sorted(ranked, reverse=True)]
    assert boxes == [(132, 200, 164, 232), (100, 200, 132, 232)]
    visited = [(140, 190, 150, 210)]  # over the first box only
    assert next_box(sorted(ranked, reverse=True), visited) == (100, 200, 132, 232)
    assert next_box(sorted(ranked, reverse=True), [*visited, (90, 190, 110, 210)]) is None
