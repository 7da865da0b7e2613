"""Uncertainty 4 p (1 - p), boxes ranked by it, and the next box not yet visited."""

from __future__ import annotations

import numpy as np
import pytest

from inkloop.uncertainty import box_means, next_box, rank_boxes, uncertainty


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
    best_first = sorted(ranked, reverse=True)
    assert next_box(best_first, [(150, 190, 180, 215)]) == (132, 200, 164, 232)  # 21% seen
    visited = [(140, 190, 180, 220)]  # 47% of the first box
    assert next_box(best_first, visited) == (100, 200, 132, 232)
    assert next_box(best_first, [*visited, (90, 190, 110, 230)]) is None
    assert next_box(best_first, [(150, 190, 180, 215)], may_cover=0.0) == (100, 200, 132, 232)


def test_box_means_overlap_by_the_stride_and_average_open_pixels_only():
    values = np.zeros((8, 8), np.float32)
    values[:, 4:] = 1.0
    values[0, 4] = 9.0  # labelled: left out of every mean
    open_area = np.ones((8, 8), bool)
    open_area[0, 4] = False
    means = dict((box, mean) for mean, box in box_means(values, (10, 20), open_area, 4, stride=2))
    assert sorted(means) == [(10 + r, 20 + c, 14 + r, 24 + c) for r in (0, 2, 4) for c in (0, 2, 4)]
    assert means[(10, 24, 14, 28)] == 1.0
    assert means[(10, 22, 14, 26)] == pytest.approx(7 / 15)  # 7 of the 15 open pixels are 1
    assert means[(14, 20, 18, 24)] == 0.0
