"""Ink label images as people save them: 0/255, 0/1 (a binary mask), 16-bit, float 0..1."""

from __future__ import annotations

import logging

import numpy as np
import pytest
import tifffile
from PIL import Image

from inkloop.io import SegmentError, load_labels, open_segment, read_label_image

SHAPE = (12, 16)


def _ink() -> np.ndarray:
    ink = np.zeros(SHAPE, bool)
    ink[2:5, 3:9] = True
    return ink


@pytest.mark.parametrize(("name", "dtype"), [("ink01.png", np.uint8), ("ink01.tif", np.uint16)])
def test_an_image_of_0_and_1_is_binary_ink(tmp_path, caplog, name, dtype):
    path = tmp_path / name
    if name.endswith(".png"):
        Image.fromarray(_ink().astype(dtype)).save(path)
    else:
        tifffile.imwrite(path, _ink().astype(dtype))
    with caplog.at_level(logging.WARNING):
        ink = read_label_image(path, SHAPE, ink=True)
    np.testing.assert_array_equal(ink, _ink().astype(np.uint8) * 255)
    assert [r.getMessage() for r in caplog.records] == [
        f"{path}: ink labels of 0 and 1: read 1 as ink (255)"
    ]


def test_a_segments_own_labels_of_0_and_1_are_ink(segment_folder):
    segment = open_segment(segment_folder)
    truth = np.asarray(segment.ink_labels) >= 128
    Image.fromarray(truth.astype(np.uint8)).save(segment_folder / f"{segment.name}_inklabels.png")
    ink, _, _ = load_labels(open_segment(segment_folder))
    np.testing.assert_array_equal(ink, truth.astype(np.uint8) * 255)


def test_float_labels_within_0_and_1_are_scaled_to_255(tmp_path):
    values = np.zeros(SHAPE, np.float32)
    values[0, :3] = 0.5, 1.0, 0.2
    tifffile.imwrite(tmp_path / "inkf.tif", values)
    ink = read_label_image(tmp_path / "inkf.tif", SHAPE, ink=True)
    assert ink.dtype == np.uint8
    assert ink[0, :4].tolist() == [128, 255, 51, 0]


def test_float_labels_outside_0_and_1_name_the_file_and_the_range(tmp_path):
    path = tmp_path / "inkf.tif"
    tifffile.imwrite(
        path, np.linspace(0, 255, SHAPE[0] * SHAPE[1], dtype=np.float32).reshape(SHAPE)
    )
    with pytest.raises(SegmentError, match=rf"^{path}: .* within 0\.\.1 .*found 0\.\.255$"):
        read_label_image(path, SHAPE, ink=True)


def test_a_16_bit_mask_of_0_and_1_marks_its_ones(tmp_path):
    tifffile.imwrite(tmp_path / "mask.tif", _ink().astype(np.uint16))
    np.testing.assert_array_equal(read_label_image(tmp_path / "mask.tif", SHAPE, ink=False), _ink())


@pytest.mark.parametrize("dtype", [np.uint16, np.int16, np.int32])
def test_values_of_0_to_255_in_a_wider_file_are_8_bit_labels(tmp_path, dtype):
    values = np.zeros(SHAPE, dtype)
    values[0, :3] = 255, 128, 3
    tifffile.imwrite(tmp_path / "ink.tif", values)
    ink = read_label_image(tmp_path / "ink.tif", SHAPE, ink=True)
    assert ink[0, :4].tolist() == [255, 128, 3, 0]


def test_16_bit_labels_of_the_full_range_keep_their_top_8_bits(tmp_path):
    values = np.zeros(SHAPE, np.uint16)
    values[0, :2] = 65535, 32896
    tifffile.imwrite(tmp_path / "ink.tif", values)
    assert read_label_image(tmp_path / "ink.tif", SHAPE, ink=True)[0, :3].tolist() == [255, 128, 0]


def test_black_strokes_on_a_transparent_background_are_read_from_the_alpha(tmp_path):
    rgba = np.zeros((*SHAPE, 4), np.uint8)  # black everywhere; painted where opaque
    rgba[..., 3] = _ink() * 255
    Image.fromarray(rgba, "RGBA").save(tmp_path / "ink.png")
    ink = read_label_image(tmp_path / "ink.png", SHAPE, ink=True)
    np.testing.assert_array_equal(ink, _ink().astype(np.uint8) * 255)
    opaque = rgba.copy()
    opaque[..., :3] = (_ink() * 255)[..., None]  # white strokes, all opaque: their luminance
    opaque[..., 3] = 255
    Image.fromarray(opaque, "RGBA").save(tmp_path / "white.png")
    np.testing.assert_array_equal(read_label_image(tmp_path / "white.png", SHAPE, ink=True), ink)
