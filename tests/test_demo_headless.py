"""The demo's example strokes, the sample's label files, and `inkloop demo --headless`."""

from __future__ import annotations

import json
import sys

import numpy as np
import pytest

from inkloop.cli import main
from inkloop.demo import (
    Stroke,
    demo_labels,
    example_strokes,
    run_headless_demo,
    sample_strokes,
    stamp_points,
)
from inkloop.io import (
    load_labels,
    open_segment,
    read_label_image,
    read_prediction,
    sample_segment_path,
    sample_truth_path,
    truth_path,
)
from inkloop.metrics import best_scores
from tests._helpers import SENDS_SIGINT, interrupt_when_training, tiny_model, tiny_training

KEYS = {"f05", "untrained_f05", "chance_f05", "steps", "seconds", "prediction", "device"}


@pytest.fixture(scope="module")
def sample():
    """The bundled sample's open segment, true ink and papyrus mask."""
    segment = open_segment(sample_segment_path())
    truth = read_label_image(sample_truth_path(), segment.shape[1:], ink=True)
    return segment, truth, np.asarray(segment.mask)


def test_example_strokes_are_deterministic_sparse_and_follow_the_ink(sample):
    _, truth, mask = sample
    strokes = example_strokes(truth, mask)
    assert strokes == example_strokes(truth, mask)
    assert all(isinstance(s, Stroke) and len(s.points) >= 2 for s in strokes)
    assert {s.brush.mode for s in strokes} == {"ink", "no_ink"}

    ink, supervised = demo_labels(truth, mask)
    assert 0 < supervised[mask].mean() < 0.10
    painted_ink, no_ink = ink >= 128, supervised & (ink == 0)
    assert (truth[painted_ink] == 255).mean() > 0.8  # ink strokes lie on glyphs
    assert no_ink.sum() > 1000
    assert not (truth[no_ink] == 255).any()
    top_left = np.zeros_like(supervised)
    top_left[: mask.shape[0] // 2, : mask.shape[1] // 2] = True
    assert not (supervised & ~top_left).any()


def test_stamps_follow_the_polyline_at_the_given_spacing():
    stamps = stamp_points([(0, 0), (0, 10), (10, 10)], spacing=2.5)
    assert stamps[0] == (0, 0)
    assert stamps[-1] == (10, 10)
    assert len(stamps) == 9
    assert np.hypot(*np.diff(np.asarray(stamps), axis=0).T).max() <= 2.5


def test_sample_labels_are_the_example_strokes_and_the_truth_is_no_label(sample):
    segment, truth, mask = sample
    ink, supervised, sources = load_labels(segment)
    assert sample_strokes() == example_strokes(truth, mask)
    expected_ink, expected_supervised = demo_labels(truth, mask)
    np.testing.assert_array_equal(ink, expected_ink)
    np.testing.assert_array_equal(supervised, expected_supervised)
    assert sources["labels_file"].endswith("synthetic_sample_inklabels.png")
    assert sources["supervision_file"].endswith("synthetic_sample_supervision_mask.png")
    assert sample_truth_path().is_file()
    assert sample_truth_path() not in segment.files.values()


def test_synth_with_demo_strokes_keeps_the_truth_apart(tmp_path, capsys):
    folder = tmp_path / "seg"
    args = ["synth", str(folder), "--height", "256", "--width", "256", "--layers", "6"]
    assert main([*args, "--seed", "3", "--demo-strokes"]) == 0
    assert capsys.readouterr().out.strip() == str(folder)

    segment = open_segment(folder)
    assert set(segment.files) == {"mask", "ink_labels", "supervision"}
    truth = read_label_image(truth_path(folder), (256, 256), ink=True)
    ink, supervised, _ = load_labels(segment)
    expected_ink, expected_supervised = demo_labels(truth, np.asarray(segment.mask))
    np.testing.assert_array_equal(ink, expected_ink)
    np.testing.assert_array_equal(supervised, expected_supervised)
    assert (ink >= 128).any()


def test_headless_demo_writes_the_prediction_and_reports_scores(tmp_path):
    out = tmp_path / "new" / "out"  # created on the way
    summary = run_headless_demo(
        out, train=tiny_training(max_steps=2), model=tiny_model(), progress=False
    )

    assert summary.keys() >= KEYS
    assert summary["steps"] == 2
    assert summary["device"] == "cpu"
    assert summary["prediction"] == str(out / "synthetic_sample_prediction.png")
    prediction = read_label_image(summary["prediction"], (768, 768), ink=True)
    assert prediction.any()
    assert summary["chance_f05"] == pytest.approx(0.14, abs=0.01)  # the sample's ink share
    assert summary["untrained_f05"] > 0
    segment = open_segment(sample_segment_path())  # the score is the written file's, where
    _, supervised, _ = load_labels(segment)  # the true ink lies on unlabelled papyrus
    unlabelled = np.asarray(segment.mask) & ~supervised
    truth = read_label_image(sample_truth_path(), (768, 768), ink=True)
    expected = best_scores(read_prediction(summary["prediction"]), truth, unlabelled)
    assert summary["f05"] == pytest.approx(expected.f05)
    json.dumps(summary)


def test_headless_demo_cli_prints_one_json_object(tmp_path, capsys):
    earlier = tmp_path / "synthetic_sample_prediction.png"
    earlier.write_text("an earlier run's")
    args = ["demo", "--headless", str(tmp_path), "--max-seconds", "1", "--device", "cpu"]
    assert main([*args, "--quiet", "--overwrite"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary.keys() >= KEYS
    assert read_prediction(earlier).shape == (768, 768)


def test_headless_demo_refuses_a_folder_with_its_outputs_unless_overwrite(tmp_path, capsys):
    for name in ("synthetic_sample_model.pt", "synthetic_sample_prediction.png"):
        (tmp_path / name).write_text("an earlier run's")
    assert main(["demo", "--headless", str(tmp_path), "--quiet"]) == 1
    assert capsys.readouterr().err == (
        f"inkloop demo: error: {tmp_path} already holds synthetic_sample_model.pt and "
        "synthetic_sample_prediction.png; pass --overwrite\n"
    )
    assert {p.read_text() for p in tmp_path.iterdir()} == {"an earlier run's"}


def test_headless_demo_on_a_device_not_there_makes_no_folder(tmp_path, capsys):
    out = tmp_path / "out"
    assert main(["demo", "--headless", str(out), "--device", "cuda:99", "--quiet"]) == 1
    assert "device 'cuda:99' asked for" in capsys.readouterr().err
    assert not out.exists()


def test_headless_demo_into_an_unusable_folder_is_one_line_on_stderr(tmp_path, capsys):
    blocker = tmp_path / "a_file"
    blocker.write_text("not a folder")
    assert main(["demo", "--headless", str(blocker / "out"), "--quiet"]) == 1
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.startswith("inkloop demo: error:")
    assert captured.err.count("\n") == 1
    assert str(blocker) in captured.err


@SENDS_SIGINT
@pytest.mark.slow
def test_ctrl_c_ends_training_and_still_predicts(tmp_path):
    command = [sys.executable, "-m", "inkloop.cli", "demo", "--headless", str(tmp_path)]
    command += ["--max-seconds", "600", "--device", "cpu"]
    returncode, stdout, errors = interrupt_when_training(command)
    assert returncode == 130, errors
    summary = json.loads(stdout)
    assert summary["interrupted"] is True
    assert summary["steps"] >= 1
    assert (tmp_path / "synthetic_sample_prediction.png").is_file()
