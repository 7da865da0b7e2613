"""Predictions of another size than the segment, as labels: a `predict --region` file is
placed where it records it lies (labelled there alone); one scaled exactly, or labels so
scaled, are refused with the size to resize them to."""

from __future__ import annotations

import re

import numpy as np
import pytest

from inkloop.brush import ink_from_prediction
from inkloop.cli import main
from inkloop.io import (
    SegmentError,
    labels_from_prediction,
    open_segment,
    read_label_image,
    write_png,
)
from inkloop.predict._outputs import _write_flat


@pytest.fixture
def segment(segment_folder):
    return open_segment(segment_folder)  # 64 x 96, a papyrus mask


def test_a_region_prediction_is_labels_where_it_records_it_lies(segment, tmp_path):
    region = np.linspace(0, 255, 20 * 30, dtype=np.uint8).reshape(20, 30)
    path = tmp_path / "region.png"
    _write_flat(region, path, "png", (10, 40), {})  # as `inkloop predict --region` writes it

    ink, supervised, sources = labels_from_prediction(segment, path)

    inside = np.s_[10:30, 40:70]
    expected = ink_from_prediction(region / np.float32(255), 0.5, soft=True)
    np.testing.assert_array_equal(ink[inside], expected)
    assert not ink.sum() - ink[inside].sum()
    papyrus = np.asarray(segment.mask, bool)
    np.testing.assert_array_equal(supervised[inside], papyrus[inside])
    assert supervised.sum() == papyrus[inside].sum()  # nothing outside the region labelled
    assert "of region 10:30,40:70, where it records it lies" in sources["labels_file"]


def test_a_prediction_scaled_down_exactly_says_to_resize_it(segment, tmp_path):
    half = write_png(tmp_path / "half.png", np.full((32, 48), 200, np.uint8))
    said = (
        f"{half}: the prediction is 32 x 48 pixels but {segment.name} is 64 x 96 (it is "
        "scaled down exactly 2x): resize it to 64x96"
    )
    with pytest.raises(ValueError, match=f"^{re.escape(said)}$"):
        labels_from_prediction(segment, half)


def test_labels_scaled_exactly_say_to_resize_them(tmp_path):
    half = write_png(tmp_path / "ink.png", np.zeros((32, 48), np.uint8))
    with pytest.raises(SegmentError, match=r"32x48 but the layers are 64x96 \(it is scaled down "):
        read_label_image(half, (64, 96), ink=True)
    double = write_png(tmp_path / "ink2.png", np.zeros((192, 288), np.uint8))
    with pytest.raises(SegmentError, match=r"exactly 3x that size: scaled\): resize it to 64x96"):
        read_label_image(double, (64, 96), ink=True)


def test_evaluate_of_a_prediction_scaled_down_says_both_readings(tmp_path, capsys):
    prediction = write_png(tmp_path / "half.png", np.zeros((32, 48), np.uint8))
    labels = write_png(tmp_path / "ink.png", np.full((64, 96), 255, np.uint8))
    assert main(["evaluate", str(prediction), "--labels", str(labels)]) == 1
    assert (
        capsys.readouterr()
        .err.strip()
        .endswith(
            "the prediction half.png is 32x48 (it is scaled down exactly 2x): resize it to 64x96 "
            "if it is scaled; if it is of a region alone, pass --region Y0:Y1,X0:X1 where it lies"
        )
    )


def _corner_prediction(tmp_path):
    """A `predict --region 0:32,0:48` file of the 64 x 96 segment, as inkloop writes it: its
    origin (0, 0) as any file's, its region in its provenance; exactly half the size."""
    corner = np.linspace(0, 255, 32 * 48, dtype=np.uint8).reshape(32, 48)
    path = tmp_path / "corner.png"
    _write_flat(corner, path, "png", (0, 0), {"inkloop": {"region": [0, 0, 32, 48]}})
    return path, corner


def test_a_corner_region_prediction_is_placed_by_its_recorded_region(segment, tmp_path):
    path, corner = _corner_prediction(tmp_path)

    ink, supervised, sources = labels_from_prediction(segment, path)

    expected = ink_from_prediction(corner / np.float32(255), 0.5, soft=True)
    np.testing.assert_array_equal(ink[:32, :48], expected)
    assert not supervised[32:].any()
    assert not supervised[:, 48:].any()
    assert "of region 0:32,0:48, where it records it lies" in sources["labels_file"]


def test_evaluate_scores_a_corner_region_prediction_where_it_lies(tmp_path, capsys):
    path, _ = _corner_prediction(tmp_path)
    labels = np.zeros((64, 96), np.uint8)
    labels[:8, :8] = 255
    labels = write_png(tmp_path / "ink.png", labels)
    assert main(["evaluate", str(path), "--labels", str(labels)]) == 0
    assert '"scored_pixels": 1536' in capsys.readouterr().out  # 32 x 48
