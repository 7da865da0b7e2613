"""Prediction maps as the community writes them, not only inkloop's uint8: a 16-bit map reads
by its type's range, and a float map of 0..255 is refused by name (both were read as "ink
everywhere": every value of 1 or more clipped to full ink)."""

from __future__ import annotations

import numpy as np
import pytest
import tifffile
from PIL import Image

from inkloop.io import SegmentError, open_segment, read_prediction
from inkloop.io._prediction_labels import labels_from_prediction
from inkloop.synthetic import write_segment

SHAPE = (48, 64)


@pytest.fixture
def map_8bit() -> np.ndarray:
    return np.random.default_rng(0).integers(0, 256, SHAPE, dtype=np.uint8)


def test_a_16_bit_map_reads_as_its_8_bit_probabilities(tmp_path, map_8bit):
    path = tmp_path / "p16.png"
    Image.fromarray(map_8bit.astype(np.uint16) * 257).save(path)
    assert np.asarray(Image.open(path)).dtype == np.uint16

    np.testing.assert_array_equal(read_prediction(path), map_8bit / np.float32(255))


def test_labels_from_a_16_bit_map_are_those_of_the_8_bit_one(tmp_path, map_8bit):
    segment = open_segment(write_segment(tmp_path / "seg", *SHAPE, 4, truth_as_labels=False))
    Image.fromarray(map_8bit).save(tmp_path / "p8.png")
    Image.fromarray(map_8bit.astype(np.uint16) * 257).save(tmp_path / "p16.png")

    ink_8, supervised_8, _ = labels_from_prediction(segment, tmp_path / "p8.png")
    ink_16, supervised_16, _ = labels_from_prediction(segment, tmp_path / "p16.png")
    np.testing.assert_array_equal(ink_16, ink_8)
    np.testing.assert_array_equal(supervised_16, supervised_8)


def test_a_float_map_of_0_to_255_is_refused_with_the_fix(tmp_path, map_8bit):
    path = tmp_path / "p255.tif"
    tifffile.imwrite(path, map_8bit.astype(np.float32))
    with pytest.raises(SegmentError, match=r"p255\.tif: .*within 0\.\.1, found 0\.\.255: divide"):
        read_prediction(path)


def test_a_faint_16_bit_map_stays_faint(tmp_path):
    """Read by its type's top value, not its own: at most 200 of 65535 is no ink."""
    path = tmp_path / "faint.png"
    Image.fromarray(np.array([[0, 1, 200]] * 4, np.uint16)).save(path)
    assert np.asarray(Image.open(path)).dtype == np.uint16
    assert read_prediction(path).max() == pytest.approx(200 / 65535)
