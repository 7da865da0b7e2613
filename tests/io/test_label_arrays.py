"""Ink label arrays given through the API mean what the same pixels in a file mean: uint8 as
it is, bool and 0/1 as binary ink, floats within 0..1 scaled to 255; anything else refused
before a file is touched."""

from __future__ import annotations

import numpy as np
import pytest
import tifffile
from PIL import Image

from inkloop._notify import InkloopWarning
from inkloop.io import (
    SegmentError,
    ink_levels,
    label_arrays,
    load_labels,
    open_segment,
    read_label_image,
    save_labels,
    write_label_files,
)
from tests._helpers import folder_listing


def _ink(shape) -> np.ndarray:
    ink = np.zeros(shape, np.uint8)
    ink[5:20, 10:40] = 255
    ink[30:40, 50:70] = 204  # painted at Strength 0.8
    return ink


def _saved_pixels(path) -> np.ndarray:
    """The file's pixels as they are, without the loader's rules for 0/1 images."""
    return np.asarray(Image.open(path))


def test_float_labels_within_0_and_1_are_saved_as_their_ink(segment_folder):
    segment = open_segment(segment_folder)
    ink = _ink(segment.shape[1:])
    supervised = np.ones(ink.shape, bool)
    ink_path, _ = save_labels(segment, ink.astype(np.float32) / 255, supervised)
    np.testing.assert_array_equal(_saved_pixels(ink_path), ink)
    reloaded, _, _ = load_labels(open_segment(segment_folder))
    np.testing.assert_array_equal(reloaded, ink)


@pytest.mark.parametrize(
    "given",
    [
        lambda ink: ink > 127,
        lambda ink: (ink > 127).astype(np.int64),
        lambda ink: (ink > 127).astype(np.uint8),  # as a file of it is read back
    ],
    ids=["bool", "int 0/1", "uint8 0/1"],
)
def test_binary_labels_are_saved_as_full_ink(segment_folder, given):
    segment = open_segment(segment_folder)
    ink = _ink(segment.shape[1:])
    ink_path, supervision_path = save_labels(segment, given(ink), ink < 255)
    np.testing.assert_array_equal(_saved_pixels(ink_path), np.where(ink > 127, 255, 0))
    np.testing.assert_array_equal(_saved_pixels(supervision_path), np.where(ink < 255, 255, 0))


def test_16_bit_labels_are_saved_by_their_top_8_bits(tmp_path):
    levels = np.zeros((48, 80), np.uint16)
    levels[5:20, 10:40], levels[30:40, 50:70] = 65535, 52000
    ink_path, _ = write_label_files(tmp_path / "a_inklabels.png", levels, levels > 0)
    assert np.unique(_saved_pixels(ink_path)).tolist() == [0, 202, 255]


@pytest.mark.parametrize(
    ("values", "message"),
    [
        (
            np.float32(1.5),
            r"^float ink labels must lie within 0\.\.1 \(1 = ink\), found 0\.\.1\.5$",
        ),
        (np.float32(np.nan), r"^float ink labels must lie within 0\.\.1 .*found nan\.\.nan$"),
        (np.int16(-3), r"^ink labels must not be negative, found -3\.\.0$"),
        (np.uint16(256), r'^ink labels topping out at 256 look like the "ink labels" layer.s'),
    ],
)
def test_unreadable_labels_are_refused_and_the_saved_ones_kept(segment_folder, values, message):
    segment = open_segment(segment_folder)
    before = folder_listing(segment_folder)
    saved = _saved_pixels(segment_folder / f"{segment.name}_inklabels.png")
    ink = np.zeros(segment.shape[1:], type(values))
    ink[3, 4] = values
    with pytest.raises(SegmentError, match=message):
        save_labels(segment, ink, np.ones(ink.shape, bool))
    assert folder_listing(segment_folder) == before
    np.testing.assert_array_equal(
        _saved_pixels(segment_folder / f"{segment.name}_inklabels.png"), saved
    )


def test_uint8_and_bool_arrays_are_taken_as_they_are():
    ink = np.zeros((4, 6), np.uint8)
    ink[0, :2] = 1, 200  # a soft label's faint edge beside its ink
    supervised = np.ones((4, 6), bool)
    got_ink, got_supervised = label_arrays(ink, supervised, (4, 6))
    assert got_ink is ink
    assert got_supervised is supervised


def test_supervision_is_its_non_zero_pixels_and_must_match_the_ink():
    _, supervised = label_arrays(np.zeros((2, 3), np.uint8), [[0, 255, 1], [0.5, 0, -1]])
    assert supervised.tolist() == [[False, True, True], [True, False, False]]
    with pytest.raises(ValueError, match=r"^labels \(2, 3\) and supervision \(3, 2\) differ$"):
        label_arrays(np.zeros((2, 3)), np.zeros((3, 2), bool))
    with pytest.raises(ValueError, match=r"^labels must be an H x W array, not \(2, 3, 1\)$"):
        label_arrays(np.zeros((2, 3, 1)), np.zeros((2, 3, 1), bool))


def test_an_array_of_0_and_1_says_how_it_was_read():
    with pytest.warns(InkloopWarning) as said:
        assert ink_levels(np.array([[0, 1]])).tolist() == [[0, 255]]
    assert [str(w.message) for w in said] == ["ink labels of 0 and 1: read 1 as ink (255)"]


def test_16_bit_ink_is_rounded_like_float_ink():
    half = np.array([0, 32768, 65535], np.uint16)  # half strength: ink, as float 0.5 is
    assert ink_levels(half).tolist() == [0, 128, 255]
    assert ink_levels(np.array([0, 0.5, 1], np.float32)).tolist() == [0, 128, 255]
    every_level = np.arange(256, dtype=np.uint16) * 257  # 8-bit levels widened to 16 bits
    assert ink_levels(every_level).tolist() == list(range(256))


def test_a_wide_integer_file_of_label_codes_is_refused(tmp_path):
    codes = np.zeros((12, 16), np.int32)
    codes[2:5, 3:9] = 256  # the "ink labels" layer's full ink, once read as 16-bit: no ink
    codes[6:8] = 1
    tifffile.imwrite(tmp_path / "codes.tif", codes)
    with pytest.raises(SegmentError, match=r"32-bit pixels up to 256 look like the .*own writer"):
        read_label_image(tmp_path / "codes.tif", (12, 16), ink=True)
