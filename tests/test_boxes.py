"""Boxes: one check and one union for labels, regions and overlay updates."""

from __future__ import annotations

import numpy as np
import pytest

from inkloop.boxes import check_box, union_box, view_box


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


def test_a_view_box_is_centred_capped_and_the_whole_image_before_the_first_draw():
    shape = (1000, 3000)
    assert view_box([[100, 200], [299, 699]], shape, 2048) == (100, 200, 300, 700)
    assert view_box([[0, 0], [999, 2999]], shape, 2048) == (0, 476, 1000, 2524)
    assert view_box([[0, 0], [0, 0]], shape, 2048) == (0, 476, 1000, 2524)  # not drawn yet
    assert view_box([[0, 0], [999, 999]], shape, 2048) == (0, 0, 1000, 1000)
