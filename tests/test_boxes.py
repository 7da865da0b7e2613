"""Boxes: one check and one union for labels, regions and overlay updates."""

from __future__ import annotations

import numpy as np
import pytest

from inkloop.boxes import check_box, union_box


def test_a_box_inside_the_image_comes_back_as_ints():
    assert check_box((np.int64(2), 3.0, 10, 12), (10, 12)) == (2, 3, 10, 12)


@pytest.mark.parametrize("box", [(0, 0, 0, 5), (5, 0, 4, 5), (-1, 0, 5, 5), (0, 0, 11, 5)])
def test_an_empty_or_outlying_box_is_refused_by_name(box):
    y0, x0, y1, x1 = box
    expected = rf"label box {y0}:{y1},{x0}:{x1} \(rows, columns\) is empty or outside the 10x12"
    with pytest.raises(ValueError, match=expected):
        check_box(box, (10, 12), "label box")


def test_the_union_holds_every_box():
    assert union_box([(4, 5, 8, 9), (0, 7, 2, 20), (3, 1, 5, 6)]) == (0, 1, 8, 20)
