"""`inkloop evaluate`: a region's prediction scored where it lies, and what the labels and
the scores say."""

from __future__ import annotations

import json

import numpy as np
import pytest

from inkloop.cli import main
from inkloop.io import read_prediction, write_png
from inkloop.metrics import best_scores
from inkloop.predict._outputs import _write_flat


@pytest.fixture(params=["png", "tif"])
def halves(synthetic, tmp_path, request):
    """Ink labels of the synthetic segment, and the prediction of its right half alone as
    `inkloop predict --region` writes it (its origin recorded), with that half's truth."""
    truth = synthetic.ink >= 0.5
    width = truth.shape[1]
    labels = write_png(tmp_path / "ink.png", truth * np.uint8(255))
    right = np.ascontiguousarray(synthetic.ink[:, width // 2 :])
    prediction = tmp_path / f"right.{request.param}"
    _write_flat((right * 255).astype(np.uint8), prediction, request.param, (0, width // 2), {})
    return prediction, labels, truth[:, width // 2 :]


def _evaluate(capsys, *args) -> dict:
    assert main(["evaluate", *map(str, args)]) == 0
    return json.loads(capsys.readouterr().out)


def test_a_region_file_is_scored_where_it_records_it_lies(halves, capsys):
    prediction, labels, right_truth = halves
    report = _evaluate(capsys, prediction, "--labels", labels)  # no --region
    expected = best_scores(read_prediction(prediction), right_truth)
    assert report["f05"] == pytest.approx(expected.f05)
    assert report["ink_share"] == pytest.approx(right_truth.mean(), abs=1e-4)
    # the same as with the --region it was predicted with
    assert _evaluate(capsys, prediction, "--labels", labels, "--region", "0:64,48:96") == report


def test_a_region_that_disagrees_with_the_recorded_one_is_refused(halves, capsys):
    prediction, labels, _ = halves
    args = ["evaluate", str(prediction), "--labels", str(labels), "--region", "0:64,0:48"]
    assert main(args) == 1
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err == (
        f"inkloop evaluate: error: {prediction.name} is the prediction of region 0:64,48:96 "
        "(as it records), not of --region 0:64,0:48: drop --region, or pass that one\n"
    )


def test_a_recorded_region_outside_the_labels_is_named(halves, tmp_path, capsys):
    prediction, _, _ = halves
    labels = write_png(tmp_path / "small.png", np.full((64, 40), 255, np.uint8))
    assert main(["evaluate", str(prediction), "--labels", str(labels)]) == 1
    assert capsys.readouterr().err == (
        f"inkloop evaluate: error: {labels}: image is 64x40 but the prediction "
        f"{prediction.name} is 64x48, of region 0:64,48:96 (as it records), outside the labels\n"
    )


def test_a_region_file_recording_no_origin_says_to_pass_its_region(tmp_path, capsys):
    write_png(tmp_path / "p.png", np.zeros((10, 14), np.uint8))  # another tool's: no origin
    labels = write_png(tmp_path / "ink.png", np.full((20, 24), 255, np.uint8))
    assert main(["evaluate", str(tmp_path / "p.png"), "--labels", str(labels)]) == 1
    assert (
        capsys.readouterr()
        .err.strip()
        .endswith(
            "ink.png: image is 20x24 but the prediction p.png is 10x14; if it is of a region "
            "alone, pass --region Y0:Y1,X0:X1 where it lies"
        )
    )


def test_a_probability_map_as_labels_is_said_and_read_as_ink_from_128(tmp_path, capsys):
    rng = np.random.default_rng(0)
    grey = rng.integers(1, 255, (24, 32)).astype(np.uint8)  # a model's map, not labels
    labels = write_png(tmp_path / "reference.png", grey)
    prediction = write_png(tmp_path / "p.png", grey)
    assert main(["evaluate", str(prediction), "--labels", str(labels)]) == 0
    captured = capsys.readouterr()
    assert json.loads(captured.out)["ink_share"] == pytest.approx((grey >= 128).mean(), abs=1e-4)
    assert captured.err.strip() == (
        f"inkloop evaluate: {labels}: 100% of the labelled pixels are grey (soft ink): it looks "
        "like a probability map; scored as ink where >= 128 (p >= 0.5)"
    )


def test_thresholds_are_printed_as_the_grid_has_them(tmp_path, capsys):
    ink = np.zeros((8, 8), bool)
    ink[:4] = True
    # ink at p 0.47, the rest at 0.40: only the threshold 0.45 tells them apart
    prediction = write_png(tmp_path / "p.png", np.where(ink, 120, 102).astype(np.uint8))
    labels = write_png(tmp_path / "ink.png", ink * np.uint8(255))
    assert main(["evaluate", str(prediction), "--labels", str(labels)]) == 0
    out = capsys.readouterr().out
    assert json.loads(out)["f05"] == 1.0
    assert '"threshold": 0.45,' in out


def test_a_supervision_mask_is_cropped_to_the_region_with_the_labels(tmp_path, capsys):
    ink = np.zeros((60, 80), np.uint8)
    ink[10:30, 10:40] = 255
    probability = (ink // 2 + 60).astype(np.uint8)  # of the whole segment, not the region
    supervised = np.zeros((60, 80), bool)
    supervised[:40] = True
    prediction = write_png(tmp_path / "p.png", probability)
    labels = write_png(tmp_path / "ink.png", ink)
    mask = write_png(tmp_path / "mask.png", supervised * np.uint8(255))
    args = ["--labels", labels, "--supervision", mask, "--region", "0:50,0:60"]
    report = _evaluate(capsys, prediction, *args)
    inside = np.s_[:50, :60]
    expected = best_scores(probability[inside], ink[inside], supervised[inside])
    assert report["f05"] == pytest.approx(expected.f05)
    assert report["ink_share"] == 0.25  # 20x30 ink of the 40x60 supervised pixels inside


def test_a_file_recording_the_origin_is_placed_by_the_region_given(synthetic, tmp_path, capsys):
    """inkloop records (0, 0) for a whole segment's prediction: one of a crop segment, scored
    against the full segment's labels, is placed by --region, not at the labels' corner."""
    truth = synthetic.ink >= 0.5
    labels = write_png(tmp_path / "ink.png", truth * np.uint8(255))
    crop = (np.ascontiguousarray(synthetic.ink[:, 48:]) * 255).astype(np.uint8)
    prediction = tmp_path / "crop_prediction.png"
    _write_flat(crop, prediction, "png", (0, 0), {})

    assert main(["evaluate", str(prediction), "--labels", str(labels)]) == 1
    assert capsys.readouterr().err.strip().endswith("pass --region Y0:Y1,X0:X1 where it lies")
    report = _evaluate(capsys, prediction, "--labels", labels, "--region", "0:64,48:96")
    assert report["f05"] == pytest.approx(
        best_scores(read_prediction(prediction), truth[:, 48:]).f05
    )
