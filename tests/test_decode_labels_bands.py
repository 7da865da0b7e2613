"""Label codes are decoded a band of rows at a time into the two results: the same ink and
supervision as the whole-image arithmetic gave, at about half its peak memory (a whole
segment's codes are GBs); and the autosave copies, written fast, read back as they were."""

from __future__ import annotations

import tracemalloc

import numpy as np
import pytest
from PIL import Image

from inkloop.brush import FULL_INK, decode_labels
from inkloop.io import write_label_files
from inkloop.io._labels import PAINTED


def _assert_decodes_as_before(codes: np.ndarray, band: int) -> None:
    """`decode_labels` in bands of ``band`` pixels gives what it gave in whole-image
    arithmetic, types and all."""
    ink, supervised = decode_labels(codes, band=band)
    expected_supervised = np.array(codes) > 0
    expected_ink = (np.array(codes) - expected_supervised).astype(np.uint8)
    assert (ink.dtype, supervised.dtype) == (np.uint8, np.bool_)
    np.testing.assert_array_equal(ink, expected_ink)
    np.testing.assert_array_equal(supervised, expected_supervised)


@pytest.mark.parametrize("shape", [(1, 1), (37, 53), (301, 7), (0, 5), (5, 0), (64, 64)])
@pytest.mark.parametrize("band", [1, 7, 53, 64 * 64, 2**22])  # one row, odd cuts, one band
def test_a_banded_decode_equals_the_whole_image_one(shape, band):
    codes = np.random.default_rng(sum(shape) + band).integers(0, FULL_INK + 1, shape, np.uint16)
    codes.flat[:2] = [0, FULL_INK][: codes.size]  # both ends of the codes, where there is room
    _assert_decodes_as_before(codes, band)


@pytest.mark.parametrize("dtype", [np.int32, np.uint32, np.float32])  # napari's own, converted
def test_other_code_types_decode_as_before(dtype):
    codes = np.random.default_rng(1).integers(0, FULL_INK + 1, (33, 17)).astype(dtype)
    _assert_decodes_as_before(codes, band=40)


def test_a_view_of_the_codes_decodes_as_a_copy_would():
    codes = np.random.default_rng(2).integers(0, FULL_INK + 1, (90, 70), np.uint16)
    view = codes[5::3, 60:3:-2]  # strided both ways, as a box of the canvas is in part
    _assert_decodes_as_before(view, band=50)


def test_codes_above_full_ink_in_any_band_name_the_highest_of_all():
    codes = np.zeros((40, 10), np.uint16)
    codes[3, 4], codes[35, 1] = 300, 999  # the first in an early band, the highest in a late one
    with pytest.raises(ValueError, match="label value 999 is not an Ink Loop label") as raised:
        decode_labels(codes, band=50)
    where = "such values lie in 2 pixels at y 3–35, x 1–4; erase them with the Ink Loop dock's"
    assert where in str(raised.value)  # the box that holds them all, across the bands


def test_a_decode_peaks_at_its_results_not_at_whole_image_temporaries():
    codes = np.ones((1000, 1000), np.uint16)  # every pixel "no ink": the results are 2 MB
    codes[::7] = FULL_INK
    tracemalloc.start()
    try:
        decode_labels(codes)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    # the whole-image arithmetic peaked at 4 bytes a pixel (a uint16 difference beside both)
    assert peak < 3 * codes.size


@pytest.mark.parametrize("fast", [False, True])
def test_label_files_written_fast_or_not_read_back_as_they_were(tmp_path, fast):
    codes = np.random.default_rng(3).integers(0, FULL_INK + 1, (123, 77), np.uint16)
    ink, supervised = decode_labels(codes)

    ink_path, supervision_path = write_label_files(
        tmp_path / "x_inklabels.png", ink, supervised, fast=fast
    )

    with Image.open(ink_path) as ink_file, Image.open(supervision_path) as mask_file:
        assert (ink_file.mode, mask_file.mode) == ("L", "L")
        assert ink_file.text.items() >= PAINTED.items()
        np.testing.assert_array_equal(np.asarray(ink_file), ink)
        np.testing.assert_array_equal(np.asarray(mask_file), supervised * np.uint8(255))
