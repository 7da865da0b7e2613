"""`inkloop train`'s refusals and failures: bad input is one line before any training, and
a run that fails, or a full disk, costs no trained weights."""

from __future__ import annotations

import sys

import numpy as np
import pytest

from inkloop.checkpoint import load_checkpoint
from inkloop.cli import main
from inkloop.io import write_png
from inkloop.rounds import read_rounds
from tests._helpers import FAST, posix_only


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda tmp: ["--labels", str(tmp / "nothing.png")], "nothing.png: no such image file"),
        (
            lambda tmp: ["--labels", str(write_png(tmp / "small.png", np.zeros((8, 8), np.uint8)))],
            "small.png: image is 8x8 but the layers are 96x128",
        ),
        (
            lambda tmp: [
                "--labels",
                str(write_png(tmp / "blank.png", np.zeros((96, 128), np.uint8))),
            ],
            "the labels hold no ink yet",
        ),
        (
            lambda tmp: ["--out", str(tmp / "no" / "such" / "folder" / "model.pt")],
            "folder does not exist",
        ),
        (
            lambda tmp: ["--device", "cuda"] if not _has_cuda() else pytest.skip("has CUDA"),
            "no CUDA GPU",
        ),
        (
            lambda tmp: ["--init", str(write_png(tmp / "old.pt", np.zeros((8, 8), np.uint8)))],
            "old.pt: not a readable inkloop checkpoint (not a PyTorch file, or cut short)",
        ),
        (lambda tmp: ["--z-count", "40"], "a z-window of 40 layers does not fit in"),
        (
            lambda tmp: ["--encoder", "resnet10t"],
            "unknown encoder 'resnet10t'; did you mean tu-resnet10t?",
        ),
        (
            lambda tmp: [
                "--labels",
                str(write_png(tmp / "p.png", np.full((96, 128), 40, np.uint8))),
            ],
            "p.png: 100% of the labelled pixels are grey (soft ink): it looks like a "
            "probability map; --labels-from-prediction",
        ),
        (lambda tmp: ["--z-start", "-3"], "z-window -3.."),
        (
            lambda tmp: ["--validation", "0:500,0:50"],
            "validation region 0:500,0:50 (rows, columns) is empty or outside the 96x128 segment",
        ),
        (
            lambda tmp: ["--validation", "0:96,0:128"],
            "every labelled pixel is in the validation region",
        ),
        (lambda tmp: ["--max-steps", "0"], "step limit 0 must be at least 1"),
        (lambda tmp: ["--max-seconds", "0"], "time limit 0.0 s must be above 0"),
        (lambda tmp: ["--batch-size", "0"], "batch size 0 must be at least 1"),
        (lambda tmp: ["--loader-workers", "-1"], "loader workers -1 must be 0 or more"),
        (lambda tmp: ["--patch-size", "0"], "patch size 0 must be a multiple of 32"),
    ],
)
def test_bad_input_is_one_line_before_any_training(
    training_folder, tmp_path, capsys, make, message
):
    out = tmp_path / "model.pt"
    args = ["train", str(training_folder), "--out", str(out), "--max-steps", "1", *FAST]
    assert main([*args, *make(tmp_path)]) == 1
    captured = capsys.readouterr()
    assert message in captured.err
    assert captured.err.startswith("inkloop train: error: ")
    assert captured.err.strip().count("\n") == 0
    assert not out.exists()


def test_a_run_that_fails_before_its_first_step_keeps_the_old_checkpoint(
    training_folder, tmp_path, capsys, monkeypatch
):
    from inkloop.train import Trainer

    out = tmp_path / "model.pt"
    args = ["train", str(training_folder), "--out", str(out), "--max-steps", "1", *FAST]
    assert main(args) == 0
    before = out.read_bytes()
    rounds = training_folder / f"{training_folder.name}_rounds.jsonl"
    recorded = len(read_rounds(rounds))
    assert recorded >= 1  # this run's round, beside the segment's own labels

    def fail(self):
        raise RuntimeError("the disk went away")

    monkeypatch.setattr(Trainer, "step", fail)
    capsys.readouterr()
    assert main([*args, "--overwrite"]) == 1
    assert "the disk went away" in capsys.readouterr().err
    assert out.read_bytes() == before  # an untrained model never replaces a trained one
    assert len(read_rounds(rounds)) == recorded  # and records no round


def test_an_existing_out_is_refused_unless_overwrite_or_it_is_the_init(
    training_folder, tmp_path, capsys
):
    out = tmp_path / "model.pt"
    out.write_bytes(b"a model trained for an hour")
    args = ["train", str(training_folder), "--out", str(out), "--max-steps", "1", *FAST]
    assert main(args) == 1
    assert (
        f"{out} exists; continue training it with --init {out} --out {out} (a run stopped "
        "part way leaves its last autosave there), or pass --overwrite (overwrite=True in "
        "Python) to replace it" in capsys.readouterr().err
    )
    assert out.read_bytes() == b"a model trained for an hour"
    assert main([*args, "--overwrite"]) == 0
    assert load_checkpoint(out).step == 1
    assert main([*args, "--init", str(out)]) == 0  # finetuning a checkpoint in place
    assert load_checkpoint(out).step == 2


def test_segment_without_labels_asks_for_them(tmp_path, capsys):
    from inkloop.synthetic import write_segment

    folder = write_segment(tmp_path / "seg", 64, 64, 4, seed=1)
    (folder / "seg_inklabels.png").unlink()
    assert main(["train", str(folder), "--out", str(tmp_path / "m.pt"), *FAST]) == 1
    assert "no ink labels; pass --labels INK.png" in capsys.readouterr().err


def _has_cuda() -> bool:
    import torch

    return torch.cuda.is_available()


def test_a_full_disk_says_so_and_the_weights_go_to_the_temporary_folder(
    training_folder, tmp_path, capsys, monkeypatch
):
    import errno
    import tempfile
    from pathlib import Path

    out, written = tmp_path / "model.pt", Path.write_bytes

    def disk_full_at_out(part, data):  # the part a save to ``out`` writes first
        if part.name.startswith(f".{out.name}."):
            raise OSError(errno.ENOSPC, "No space left on device", str(part))
        return written(part, data)

    monkeypatch.setattr(Path, "write_bytes", disk_full_at_out)
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    args = ["train", str(training_folder), "--out", str(out), "--max-steps", "2", *FAST]
    assert main(args) == 1
    error = capsys.readouterr().err
    assert "No space left on device" in error
    (rescued,) = tmp_path.glob("inkloop-model-*.pt")
    assert f"the weights are in {rescued}" in error
    assert load_checkpoint(rescued).step == 2
    assert not out.exists()


@posix_only("a file size limit (resource.setrlimit RLIMIT_FSIZE, SIGXFSZ)")
def test_a_checkpoint_too_large_for_the_disk_is_an_os_error_that_says_so(tmp_path):
    """torch's zip writer said "unexpected pos"; the checkpoint is written as plain bytes."""
    import subprocess

    script = f"""
import errno, resource, signal
import torch
from inkloop.checkpoint import Checkpoint, save_checkpoint
from inkloop.compose import Composition, Normalisation
from inkloop.settings import ModelConfig
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the limit fails, as on a full disk
resource.setrlimit(resource.RLIMIT_FSIZE, (100_000, 100_000))
weights = {{"w": torch.zeros(100_000)}}  # 400 kB
window = Composition().resolve(8)
checkpoint = Checkpoint(ModelConfig(), window, Normalisation(0, 1), 64, 0, weights)
try:
    save_checkpoint({str(tmp_path / "model.pt")!r}, checkpoint)
except OSError as error:
    print("OSError", error.errno == errno.EFBIG)
"""
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert done.stdout.strip() == "OSError True", done.stderr[-2000:]
    assert [p.name for p in tmp_path.iterdir()] == []  # no half-written file left behind


def test_an_error_after_the_bar_appeared_starts_a_line_of_its_own(
    training_folder, tmp_path, capsys
):
    args = ["train", str(training_folder), "--out", str(tmp_path / "m.pt"), "--max-steps", "1"]
    fast = [option for option in FAST if option != "--quiet"]  # the bar shows
    assert main([*args, *fast, "--validation", "0:999,0:10"]) == 1
    lines = capsys.readouterr().err.splitlines()
    assert any(line.startswith("inkloop train: error: validation region") for line in lines)
