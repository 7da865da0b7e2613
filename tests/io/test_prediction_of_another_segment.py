"""A whole segment's prediction is never read as a corner region of another, larger segment
(closing review C23, finding 1): its provenance records a region [0, 0, H, W] that starts at
the corner and has the file's size, like a `predict --region` file's, but it names the
segment it was made for and (since) that segment's size. Train's --labels-from-prediction,
the dock's Load prediction as labels (both `labels_from_prediction`) and evaluate refuse it
with the sizes and the segment it records; evaluate's JSON says which region it scored."""

from __future__ import annotations

import json
import re

import numpy as np
import pytest

from inkloop.cli import main
from inkloop.io import labels_from_prediction, open_segment, write_png
from inkloop.predict._outputs import _write_flat


@pytest.fixture
def segment(segment_folder):
    return open_segment(segment_folder)  # 64 x 96, named 20231012184423


def _whole_prediction(tmp_path, name: str, shape=None):
    """A 32 x 48 file as `inkloop predict` writes for the whole of segment ``name``, of that
    size: its region from the corner, with the segment's size where ``shape`` is given (what
    files record from now on; older ones name the segment alone)."""
    made_for = {"name": name, "path": f"/data/{name}"}
    if shape is not None:
        made_for["shape"] = list(shape)
    record = {"segment": made_for, "region": [0, 0, 32, 48]}
    path = tmp_path / f"{name}_prediction.png"
    values = np.linspace(0, 255, 32 * 48, dtype=np.uint8).reshape(32, 48)
    _write_flat(values, path, "png", (0, 0), {"inkloop": record})
    return path


def test_another_segments_whole_prediction_is_refused_naming_it(segment, tmp_path):
    path = _whole_prediction(tmp_path, "small")  # a record without the segment's size
    said = (
        f"{path}: the prediction is 32 x 48 pixels but {segment.name} is 64 x 96, and it "
        "records being made for segment small: is it the right file?"
    )
    with pytest.raises(ValueError, match=f"^{re.escape(said)}$"):
        labels_from_prediction(segment, path)


def test_a_whole_prediction_of_this_segment_at_another_size_is_refused(segment, tmp_path):
    path = _whole_prediction(tmp_path, segment.name, shape=(32, 48))  # since re-rendered
    with pytest.raises(ValueError, match=r"is 64 x 96 \(it is scaled down exactly 2x\)"):
        labels_from_prediction(segment, path)


def test_a_corner_region_of_this_segment_is_still_placed(segment, tmp_path):
    path = _whole_prediction(tmp_path, segment.name, shape=(64, 96))
    sources = labels_from_prediction(segment, path)[2]
    assert "of region 0:32,0:48, where it records it lies" in sources["labels_file"]


def test_evaluate_refuses_another_segments_prediction_by_the_labels_id(tmp_path, capsys):
    path = _whole_prediction(tmp_path, "small")
    labels = write_png(tmp_path / "ves8_inklabels.png", np.full((64, 96), 255, np.uint8))
    assert main(["evaluate", str(path), "--labels", str(labels)]) == 1
    err = capsys.readouterr().err
    assert "image is 64x96 but the prediction small_prediction.png is 32x48" in err
    assert "records being made for segment small: is it the right file?" in err


def test_evaluate_refuses_a_whole_prediction_by_its_recorded_size(tmp_path, capsys):
    path = _whole_prediction(tmp_path, "small", shape=(32, 48))
    labels = write_png(tmp_path / "ink.png", np.full((64, 96), 255, np.uint8))  # no id
    assert main(["evaluate", str(path), "--labels", str(labels)]) == 1
    err = capsys.readouterr().err
    assert "the prediction small_prediction.png is 32x48" in err
    assert "records being made for segment small: is it the right file?" in err


@pytest.mark.parametrize(
    ("args", "region"),
    [([], [0, 0, 32, 48]), (["--region", "8:24,0:40"], [8, 0, 24, 40])],
)
def test_evaluate_reports_the_region_it_scored(tmp_path, capsys, args, region):
    path = _whole_prediction(tmp_path, "ves8", shape=(64, 96))  # a corner region of ves8
    ink = np.zeros((64, 96), np.uint8)
    ink[8:16, :8] = 255  # inside both regions
    labels = write_png(tmp_path / "ves8_inklabels.png", ink)
    if args:  # scored inside the region the file is of
        path = write_png(tmp_path / "whole.png", np.full((64, 96), 200, np.uint8))
    assert main(["evaluate", str(path), "--labels", str(labels), *args]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["region"] == region
    assert report["scored_pixels"] == (region[2] - region[0]) * (region[3] - region[1])
