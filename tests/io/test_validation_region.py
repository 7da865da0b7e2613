"""The validation region kept beside a segment's labels: written, read back, removed, and a
file that holds no region of the segment named in one message."""

from __future__ import annotations

import re

import pytest

from inkloop.io import (
    open_segment,
    read_validation_region,
    save_validation_region,
    validation_path,
)


def test_a_kept_region_reads_back_and_none_removes_it(segment_folder):
    segment = open_segment(segment_folder)
    assert read_validation_region(segment) is None  # none kept yet
    path = save_validation_region(segment, (10, 20, 40, 90))
    assert path == segment_folder / "20231012184423_validation_region.json"
    assert read_validation_region(segment) == (10, 20, 40, 90)
    save_validation_region(segment, None)
    assert not path.exists()
    assert read_validation_region(segment) is None


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ("{", 'holds no validation region ({"validation_region": [y0, x0, y1, x1]})'),
        ('{"validation_region": [1, 2, 3]}', "a validation region is [y0, x0, y1, x1], not"),
        (
            '{"validation_region": [10, 20, 400, 90]}',
            "the validation region 10:400,20:90 (rows, columns) is empty or outside the 64x96 "
            "segment",
        ),
    ],
)
def test_a_file_without_a_region_of_the_segment_is_named(segment_folder, text, why):
    segment = open_segment(segment_folder)
    path = validation_path(segment)
    path.write_text(text)
    with pytest.raises(ValueError, match=f"^{re.escape(f'{path}: {why}')}"):
        read_validation_region(segment)
