"""`inkloop train`: headless training to a checkpoint and a round, labels from files or a
prediction, what it prints, and Ctrl+C keeps the weights."""

from __future__ import annotations

import json
import sys

import numpy as np
import pytest

from inkloop.checkpoint import load_checkpoint
from inkloop.cli import main
from inkloop.io import sample_segment_path, write_png
from inkloop.model import cpu_has_bf16, default_encoder
from inkloop.rounds import read_rounds
from tests._helpers import FAST, SENDS_SIGINT, interrupt_when_training


def test_train_writes_a_checkpoint_that_knows_how_to_predict(training_folder, tmp_path, capsys):
    out = tmp_path / "model.pt"
    args = ["train", str(training_folder), "--out", str(out), "--max-steps", "2"]
    args += ["--z-start", "1", "--z-count", "6", "--composition", "raw+diff", *FAST]
    assert main(args) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["steps"] == 2
    assert summary["interrupted"] is False
    checkpoint = load_checkpoint(out)
    assert checkpoint.step == 2
    assert (checkpoint.composition.z_start, checkpoint.composition.z_count) == (1, 6)
    assert checkpoint.model.in_channels == 11
    assert checkpoint.patch_size == 32
    assert checkpoint.provenance["labels_file"].endswith("_inklabels.png")
    assert checkpoint.provenance["supervision_file"].endswith("_mask.png")

    assert main(["info", str(out)]) == 0  # the checkpoint says how it was trained
    info = json.loads(capsys.readouterr().out)
    assert (info["step"], info["composition"]["mode"], info["patch_size"]) == (2, "raw+diff", 32)
    assert info["train"]["max_steps"] == 2
    assert info["train"]["batch_size"] == 2
    assert info["train"]["augment"]["z_jitter"] == checkpoint.train.augment.z_jitter
    assert info["model"]["parameters"] > 1000
    assert info["provenance"]["labels"]["ink_pixels"] > 0
    precision = "bfloat16" if cpu_has_bf16() else "float32"  # what `amp` came to here
    trained_on = {"device": "cpu", "precision": precision, "batch_size": 2, "cut_short": False}
    assert info["provenance"]["trained_on"].items() >= trained_on.items()  # and its seconds

    again = tmp_path / "again.pt"
    assert (
        main(
            [
                "train",
                str(training_folder),
                "--out",
                str(again),
                "--init",
                str(out),
                "--max-steps",
                "1",
                "--loader-workers",
                "1",
                *FAST,
            ]
        )
        == 0
    )
    continued = load_checkpoint(again)
    assert continued.step == 3  # continued, not restarted
    assert continued.train.loader_workers == 1  # its batches came from a worker process


def test_labels_and_supervision_from_files(training_folder, tmp_path, capsys):
    ink = np.zeros((96, 128), np.uint8)
    ink[20:30, 20:60] = 255
    supervision = np.zeros((96, 128), np.uint8)
    supervision[10:50, 10:80] = 255
    write_png(tmp_path / "ink.png", ink)
    write_png(tmp_path / "labelled.png", supervision)
    out = tmp_path / "model.pt"
    args = [
        "train",
        str(training_folder),
        "--labels",
        str(tmp_path / "ink.png"),
        "--supervision",
        str(tmp_path / "labelled.png"),
        "--out",
        str(out),
        "--max-steps",
        "1",
        *FAST,
    ]
    assert main(args) == 0
    labels = load_checkpoint(out).provenance["labels"]
    assert labels["supervised_pixels"] == 40 * 70
    assert labels["ink_pixels"] == 10 * 40
    assert json.loads(capsys.readouterr().out)["round"] == 1

    # each run is a round, recorded beside the labels it trained on, as the dock records them
    assert main([*args, "--overwrite"]) == 0
    rounds = read_rounds(tmp_path / "ink_rounds.jsonl")
    assert [(r.number, r.steps, r.checkpoint) for r in rounds] == [
        (1, 1, str(out)),
        (2, 1, str(out)),
    ]
    assert (rounds[1].ink_pixels, rounds[1].no_ink_pixels) == (10 * 40, 40 * 70 - 10 * 40)
    assert rounds[1].accepted_pixels == 0
    capsys.readouterr()
    assert main(["info", str(out)]) == 0
    assert json.loads(capsys.readouterr().out)["round"]["number"] == 2


def test_a_round_that_cannot_be_recorded_still_leaves_the_checkpoint(
    training_folder, tmp_path, capsys
):
    ink = np.zeros((96, 128), np.uint8)
    ink[20:30, 20:60] = 255
    write_png(tmp_path / "ink.png", ink)
    (tmp_path / "ink_rounds.jsonl").mkdir()  # not a file: neither read nor written
    out = tmp_path / "model.pt"
    args = ["train", str(training_folder), "--labels", str(tmp_path / "ink.png")]
    assert main([*args, "--out", str(out), "--max-steps", "1", *FAST]) == 0
    captured = capsys.readouterr()
    assert json.loads(captured.out)["round"] is None
    assert f"the round was not recorded in {tmp_path / 'ink_rounds.jsonl'}" in captured.err
    assert load_checkpoint(out).step == 1


def test_training_on_the_bundled_sample_writes_nothing_into_the_package(tmp_path, capsys):
    sample = sample_segment_path()
    before = sorted(p.name for p in sample.iterdir())
    out = tmp_path / "model.pt"
    assert main(["train", str(sample), "--out", str(out), "--max-steps", "1", *FAST]) == 0
    assert json.loads(capsys.readouterr().out)["round"] == 1
    assert sorted(p.name for p in sample.iterdir()) == before
    (round_,) = read_rounds(tmp_path / "model_rounds.jsonl")  # beside the checkpoint
    assert round_.checkpoint == str(out)


# twice: an impatient user, or `timeout -s INT`, which signals the process and its group
@SENDS_SIGINT
@pytest.mark.parametrize("presses", [1, 2])
def test_ctrl_c_writes_the_last_good_state(training_folder, tmp_path, presses):
    out = tmp_path / "model.pt"
    command = [
        sys.executable,
        "-m",
        "inkloop.cli",
        "train",
        str(training_folder),
        "--out",
        str(out),
        "--max-seconds",
        "600",
        "--patch-size",
        "32",
        "--batch-size",
        "2",
        "--device",
        "cpu",
    ]
    returncode, stdout, errors = interrupt_when_training(command, presses)
    assert returncode == 130, errors
    summary = json.loads(stdout)
    assert summary["interrupted"] is True
    assert load_checkpoint(out).step == summary["steps"] >= 1
    assert f"interrupted: wrote {out} (step {summary['steps']})" in errors
    assert "Traceback" not in errors


def test_labels_can_start_from_a_prediction_image(training_folder, tmp_path, capsys):
    from inkloop.io import open_segment

    segment = open_segment(training_folder)
    truth = np.asarray(segment.ink_labels)
    prediction = np.where(truth > 0, 230, 40).astype(np.uint8)  # a community model's PNG
    write_png(tmp_path / "prediction.png", prediction)
    out = tmp_path / "model.pt"
    args = ["train", str(training_folder), "--out", str(out), "--overwrite", "--max-steps", "1"]
    args += [*FAST, "--labels-from-prediction", str(tmp_path / "prediction.png")]
    assert main([*args, "--prediction-threshold", "0.6", "--prediction-hard"]) == 0
    provenance = load_checkpoint(out).provenance
    assert "prediction.png (hard, threshold 0.6)" in provenance["labels_file"]
    mask = np.asarray(segment.mask)
    assert provenance["labels"]["supervised_pixels"] == mask.sum()
    assert provenance["labels"]["ink_pixels"] == ((truth > 0) & mask).sum()
    assert not (tmp_path / "prediction_rounds.jsonl").exists()  # nothing beside the image
    (round_,) = read_rounds(tmp_path / "model_rounds.jsonl")  # but beside the checkpoint
    assert round_.accepted_pixels == mask.sum()  # every label came from the model

    write_png(tmp_path / "small.png", prediction[:-1])
    capsys.readouterr()
    args[-1] = str(tmp_path / "small.png")
    assert main(args) == 1
    error = capsys.readouterr().err
    assert "the prediction is 95 x 128 pixels but" in error
    assert error.count("\n") == 1


def test_stdout_is_the_json_alone_and_stderr_names_the_model_trained(
    training_folder, tmp_path, capsys
):
    args = ["train", str(training_folder), "--out", str(tmp_path / "model.pt")]
    args += ["--max-steps", "1", "--validation", "0:48,0:64", *FAST[:-1]]  # not --quiet
    assert main(args) == 0
    captured = capsys.readouterr()
    summary = json.loads(captured.out)  # validation lines and notices go to stderr
    precision = "bfloat16" if cpu_has_bf16() else "float32"
    expected = (default_encoder("cpu"), "cpu", precision)
    assert (summary["encoder"], summary["device"], summary["precision"]) == expected
    assert summary["loader"] == "a thread"  # a CPU's default; worker processes on a GPU
    training = f"training {expected[0]} on cpu ({precision}), batches of 2 from a thread"
    assert training in captured.err
    assert "step 1: validation F0.5" in captured.err


def test_a_log_file_gets_the_progress_bar_every_half_minute_not_every_step(
    training_folder, tmp_path, capsys
):
    from inkloop._progress import LOG_PROGRESS_INTERVAL, progress_interval

    assert progress_interval() == LOG_PROGRESS_INTERVAL == 30  # capsys's stderr: not a TTY
    args = ["train", str(training_folder), "--out", str(tmp_path / "model.pt")]
    assert main([*args, "--max-steps", "40", *FAST[:-1]]) == 0  # not --quiet
    draws = capsys.readouterr().err.count("/40 [")
    # the first draw, one after the "training …" line, the last; one per 30 s in between
    assert 2 <= draws <= 4


def test_relative_paths_are_recorded_so_info_finds_the_round_from_anywhere(
    training_folder, tmp_path, capsys, monkeypatch
):
    import shutil

    name = training_folder.name
    shutil.copytree(training_folder, tmp_path / name)
    (tmp_path / name / f"{name}_rounds.jsonl").unlink(missing_ok=True)  # other tests' runs
    monkeypatch.chdir(tmp_path)
    args = ["train", name, "--out", "model.pt", "--max-steps", "1", *FAST]
    assert main(args) == 0
    provenance = load_checkpoint(tmp_path / "model.pt").provenance
    assert provenance["segment_path"] == str(tmp_path / name)
    assert provenance["rounds_file"].startswith(str(tmp_path / name))
    monkeypatch.chdir(training_folder)  # elsewhere
    capsys.readouterr()
    assert main(["info", str(tmp_path / "model.pt")]) == 0
    assert json.loads(capsys.readouterr().out)["round"]["number"] == 1
