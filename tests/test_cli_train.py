"""`inkloop train`: headless training to a checkpoint, clear errors, Ctrl+C keeps the weights."""

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
from tests._helpers import interrupt_when_training

FAST = ["--patch-size", "32", "--batch-size", "2", "--device", "cpu", "--quiet"]


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
    trained_on = {"device": "cpu", "precision": precision, "batch_size": 2}
    assert info["provenance"]["trained_on"] == trained_on

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


def test_training_on_the_bundled_sample_writes_nothing_into_the_package(tmp_path, capsys):
    sample = sample_segment_path()
    before = sorted(p.name for p in sample.iterdir())
    out = tmp_path / "model.pt"
    assert main(["train", str(sample), "--out", str(out), "--max-steps", "1", *FAST]) == 0
    assert json.loads(capsys.readouterr().out)["round"] == 1
    assert sorted(p.name for p in sample.iterdir()) == before
    (round_,) = read_rounds(tmp_path / "model_rounds.jsonl")  # beside the checkpoint
    assert round_.checkpoint == str(out)


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
    assert f"{out} exists; pass --overwrite to replace it" in capsys.readouterr().err
    assert out.read_bytes() == b"a model trained for an hour"
    assert main([*args, "--overwrite"]) == 0
    assert load_checkpoint(out).step == 1
    assert main([*args, "--init", str(out)]) == 0  # finetuning a checkpoint in place
    assert load_checkpoint(out).step == 2


def test_window_options_given_with_init_are_refused_not_ignored(training_folder, tmp_path, capsys):
    init = tmp_path / "init.pt"
    args = ["train", str(training_folder), "--max-steps", "1", *FAST]
    assert main([*args, "--out", str(init), "--z-count", "4"]) == 0
    capsys.readouterr()
    again = [*args, "--init", str(init), "--out", str(tmp_path / "next.pt")]
    assert main([*again, "--z-count", "8", "--encoder", "auto"]) == 1  # even the default
    error = capsys.readouterr().err
    assert f"--init {init} brings its own model and z-window: leave out --z-count, --encoder" in (
        error
    )
    assert main(again) == 0  # the checkpoint's window, as it was trained
    assert load_checkpoint(tmp_path / "next.pt").composition.z_count == 4


def test_finetuning_on_a_download_of_fewer_layers_reads_the_layers_it_was_trained_on(
    training_folder, tmp_path
):
    import shutil

    subset = shutil.copytree(training_folder, tmp_path / training_folder.name)
    (subset / "layers" / "00.tif").unlink()  # layers 01..07: every position one lower
    init, tuned = tmp_path / "init.pt", tmp_path / "tuned.pt"
    args = ["--max-steps", "1", *FAST]
    assert main(["train", str(training_folder), "--out", str(init), *args]) == 0
    assert main(["train", str(subset), "--init", str(init), "--out", str(tuned), *args]) == 0

    before, after = load_checkpoint(init), load_checkpoint(tuned)
    assert after.layers == before.layers == (2, 3, 4, 5)
    assert after.composition.z_start == before.composition.z_start - 1


def test_segment_without_labels_asks_for_them(tmp_path, capsys):
    from inkloop.synthetic import write_segment

    folder = write_segment(tmp_path / "seg", 64, 64, 4, seed=1)
    (folder / "seg_inklabels.png").unlink()
    assert main(["train", str(folder), "--out", str(tmp_path / "m.pt"), *FAST]) == 1
    assert "no ink labels; pass --labels INK.png" in capsys.readouterr().err


# twice: an impatient user, or `timeout -s INT`, which signals the process and its group
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


def _has_cuda() -> bool:
    import torch

    return torch.cuda.is_available()


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


def test_a_z_stem_model_trains_and_predicts(training_folder, tmp_path, capsys):
    model, out = tmp_path / "model.pt", tmp_path / "ink.png"
    args = ["train", str(training_folder), "--out", str(model), "--overwrite", "--max-steps", "1"]
    assert main([*args, "--z-stem", "4", *FAST]) == 0
    assert load_checkpoint(model).model.z_stem == 4
    assert main(["predict", str(training_folder), "--model", str(model), "--out", str(out)]) == 0
    assert out.is_file()
    assert main([*args, "--z-stem", "-1", *FAST]) == 1
    assert "z-stem's width is a count of features" in capsys.readouterr().err


def test_the_output_stride_is_chosen_and_recorded(training_folder, tmp_path):
    model = tmp_path / "model.pt"
    args = ["train", str(training_folder), "--out", str(model), "--overwrite", "--max-steps", "1"]
    assert main([*args, *FAST]) == 0
    assert load_checkpoint(model).model.output_stride == 4
    assert main([*args, "--output-stride", "1", *FAST]) == 0
    assert load_checkpoint(model).model.output_stride == 1


def test_the_encoder_depth_is_chosen_and_recorded(training_folder, tmp_path):
    model, out = tmp_path / "model.pt", tmp_path / "ink.png"
    args = ["train", str(training_folder), "--out", str(model), "--overwrite", "--max-steps", "1"]
    assert main([*args, *FAST]) == 0
    assert load_checkpoint(model).model.encoder_depth == 4  # the default
    assert main([*args, "--encoder-depth", "5", *FAST]) == 0
    assert load_checkpoint(model).model.encoder_depth == 5
    assert main(["predict", str(training_folder), "--model", str(model), "--out", str(out)]) == 0
    assert out.is_file()


def test_the_encoder_is_chosen_by_name_and_a_misspelt_one_gets_a_suggestion(
    training_folder, tmp_path, capsys
):
    model = tmp_path / "model.pt"
    args = ["train", str(training_folder), "--out", str(model), "--overwrite", "--max-steps", "1"]
    args += FAST
    assert main([*args, "--encoder", "tu-resnet10t"]) == 0
    assert load_checkpoint(model).model.encoder == "tu-resnet10t"
    out = tmp_path / "ink.png"
    assert main(["predict", str(training_folder), "--model", str(model), "--out", str(out)]) == 0
    assert out.is_file()
    capsys.readouterr()
    assert main([*args, "--encoder", "resnet19"]) == 1
    error = capsys.readouterr().err
    assert "unknown encoder 'resnet19'; did you mean resnet18" in error
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


def test_a_full_disk_says_so_and_the_weights_go_to_the_temporary_folder(
    training_folder, tmp_path, capsys, monkeypatch
):
    import errno
    import tempfile

    from inkloop.engine import _training

    out, real_save = tmp_path / "model.pt", _training.save_checkpoint

    def disk_full_at_out(path, checkpoint):
        if path == out:
            raise OSError(errno.ENOSPC, "No space left on device", str(path))
        return real_save(path, checkpoint)

    monkeypatch.setattr(_training, "save_checkpoint", disk_full_at_out)
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    args = ["train", str(training_folder), "--out", str(out), "--max-steps", "2", *FAST]
    assert main(args) == 1
    error = capsys.readouterr().err
    assert "No space left on device" in error
    (rescued,) = tmp_path.glob("inkloop-model-*.pt")
    assert f"the weights are in {rescued}" in error
    assert load_checkpoint(rescued).step == 2
    assert not out.exists()


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


def test_finetuning_on_layers_numbered_otherwise_places_the_window_with_z_start(
    training_folder, tmp_path, capsys
):
    import shutil

    renamed = shutil.copytree(training_folder, tmp_path / training_folder.name)
    for layer in sorted((renamed / "layers").glob("*.tif")):  # files 20..27: none trained on
        layer.rename(layer.with_name(f"{int(layer.stem) + 20}.tif"))
    init, tuned = tmp_path / "init.pt", tmp_path / "tuned.pt"
    args = ["--max-steps", "1", *FAST]
    assert main(["train", str(training_folder), "--out", str(init), *args]) == 0
    again = ["train", str(renamed), "--init", str(init), "--out", str(tuned), *args]
    capsys.readouterr()
    assert main(again) == 1
    assert "`--z-start` of `inkloop train` or `predict`" in capsys.readouterr().err
    assert main([*again, "--z-start", "1"]) == 0
    assert load_checkpoint(tuned).composition.z_start == 1
    assert load_checkpoint(tuned).layers == (21, 22, 23, 24)


def test_an_error_after_the_bar_appeared_starts_a_line_of_its_own(
    training_folder, tmp_path, capsys
):
    args = ["train", str(training_folder), "--out", str(tmp_path / "m.pt"), "--max-steps", "1"]
    fast = [option for option in FAST if option != "--quiet"]  # the bar shows
    assert main([*args, *fast, "--validation", "0:999,0:10"]) == 1
    lines = capsys.readouterr().err.splitlines()
    assert any(line.startswith("inkloop train: error: validation region") for line in lines)


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


def test_a_window_off_a_stack_numbered_otherwise_names_its_file_numbers(
    training_folder, tmp_path, capsys
):
    import shutil

    renamed = shutil.copytree(training_folder, tmp_path / training_folder.name)
    for layer in sorted((renamed / "layers").glob("*.tif")):
        layer.rename(layer.with_name(f"{int(layer.stem) + 20}.tif"))
    args = ["train", str(renamed), "--out", str(tmp_path / "m.pt"), "--z-start", "23"]
    assert main([*args, "--max-steps", "1", *FAST]) == 1
    error = capsys.readouterr().err
    assert "is outside layers 0..7 (positions, of files numbered 20..27)" in error
