"""An output never replaces what its run reads, whatever --overwrite says (the segment's
layers and side files, the labels, the model): refused in one line, every file kept byte for
byte. And output paths that cannot be used are said in one line naming the option."""

from __future__ import annotations

import errno
from pathlib import Path

import numpy as np
import pytest
import zarr

from inkloop._cli_predict import REFUSED
from inkloop.cli import main
from inkloop.io import open_segment, read_prediction, write_png
from inkloop.synthetic import make_segment, write_segment
from tests._helpers import NEVER_REPLACES_INPUTS, folder_contents, save_tiny_checkpoint

TRAIN = ["--patch-size", "32", "--batch-size", "2", "--max-steps", "1", "--device", "cpu"]


@pytest.fixture
def place(tmp_path, monkeypatch) -> Path:
    """A working folder with a segment folder ``seg``, a zarr volume ``vol.zarr``, another
    one ``other.zarr``, labels ``lab.png`` and a model ``model.pt``."""
    monkeypatch.chdir(tmp_path)
    write_segment(tmp_path / "seg", 64, 96, 8, seed=3)
    volume = make_segment(64, 96, 8, seed=4).volume
    for name in ("vol.zarr", "other.zarr"):
        zarr.create_array(tmp_path / name, data=volume, chunks=(4, 32, 32))
    half = np.zeros((64, 96), np.uint8)
    half[:, :48] = 255  # ink on the left: labels that train
    write_png(tmp_path / "lab.png", half)
    save_tiny_checkpoint(tmp_path / "model.pt")
    return tmp_path


def _refused(command: list[str], root: Path, message: str, capsys) -> None:
    """``command`` fails with ``message`` alone, with and without --overwrite, and changes
    nothing under ``root``."""
    before = folder_contents(root)
    assert before  # the check below compares something
    for extra in (["--overwrite"], []):
        assert main([*command, *extra, "--quiet"]) == _refusal(command)
        error = capsys.readouterr().err
        assert message in error, error
        assert error.count("\n") == 1
        assert folder_contents(root) == before


def _refusal(command: list[str]) -> int:
    """The exit status of ``command`` refused: `inkloop predict` tells a refusal (nothing
    began) from a run that stopped part way."""
    return REFUSED if command[0] == "predict" else 1


@pytest.mark.parametrize(
    ("segment", "out", "message"),
    [
        ("vol.zarr", "vol.zarr", "vol.zarr is the zarr of segment vol"),
        ("seg", "seg/layers/00.tif", "seg/layers/00.tif lies in the layer folder of segment seg"),
        ("seg", "seg/seg_inklabels.png", "seg/seg_inklabels.png is the ink labels of segment seg"),
        ("seg", "seg/seg_mask.png", "seg/seg_mask.png is the mask of segment seg"),
        ("seg", "model.png", "model.png is the --model file"),
    ],
)
def test_predict_never_writes_over_its_inputs(place, capsys, segment, out, message):
    model = "model.png" if out == "model.png" else "model.pt"  # a checkpoint of any name
    save_tiny_checkpoint(place / model)
    command = ["predict", segment, "--model", model, "--out", out]
    _refused(command, place, f"{message}; {NEVER_REPLACES_INPUTS}", capsys)


@pytest.mark.parametrize(
    ("out_dir", "message"),
    [
        ("seg/layers", "seg_prediction.ome.zarr lies in the layer folder of segment seg"),
        ("vol.zarr", "vol_prediction.ome.zarr lies in the zarr of segment vol"),
    ],
)
def test_an_out_dir_inside_a_segment_is_refused(place, capsys, out_dir, message):
    _refused(["predict", "seg", "vol.zarr", "--model", "model.pt", "--out-dir", out_dir],
             place, message, capsys)  # fmt: skip


def test_only_a_prediction_folder_is_replaced(place, capsys):
    command = ["predict", "seg", "--model", "model.pt", "--out", "other.zarr"]
    _refused(command, place, "other.zarr: is a folder but not a prediction", capsys)
    image = place / "image.zarr"  # a 2-D zarr of someone else's, not an inkloop prediction
    zarr.create_array(image, data=np.full((64, 96), 7, np.float32))
    command = ["predict", "seg", "--model", "model.pt", "--out", "image.zarr"]
    _refused(command, place, "image.zarr: is a folder but not a prediction", capsys)
    earlier = place / "p.zarr"
    command = ["predict", "seg", "--model", "model.pt", "--out", str(earlier), "--quiet"]
    assert main(command) == 0
    zarr.open_array(earlier, mode="r+")[:] = 0.25  # an earlier prediction, replaced whole
    assert main([*command, "--overwrite"]) == 0
    assert (read_prediction(earlier) != 0.25).any()


def test_an_input_named_another_way_is_still_refused(place, capsys):
    """A path that is not the mask's as text but names the same file (another case on
    macOS's disk; a hard link here) is the mask."""
    (place / "seg" / "mask_too.png").hardlink_to(place / "seg" / "seg_mask.png")
    command = ["predict", "seg", "--model", "model.pt", "--out", "seg/mask_too.png"]
    message = f"seg/mask_too.png is the mask of segment seg; {NEVER_REPLACES_INPUTS}"
    _refused(command, place, message, capsys)


def test_a_plain_folder_of_layers_takes_outputs_but_no_new_layer(place, capsys):
    """A folder of numbered layers keeps its side files beside them; an output there is
    fine unless its name would make it a layer."""
    flat = place / "flat"
    (place / "seg" / "layers").rename(flat)
    write_png(flat / "flat_mask.png", np.full((64, 96), 255, np.uint8))
    command = ["predict", "flat", "--model", "model.pt", "--out"]
    assert main([*command, "flat/flat_prediction.png", "--quiet"]) == 0
    assert read_prediction(flat / "flat_prediction.png").shape == (64, 96)
    _refused([*command, "flat/08.tif"], place, "flat/08.tif lies in the layer folder", capsys)
    assert open_segment(flat).shape == (8, 64, 96)


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (["--out", "seg/seg_mask.png"], "seg/seg_mask.png is the mask of segment seg"),
        (["--labels", "lab.png", "--out", "lab.png"], "lab.png is the --labels file"),
        (["--supervision", "lab.png", "--out", "lab.png"], "lab.png is the --supervision file"),
        (
            ["--labels-from-prediction", "lab.png", "--out", "lab.png"],
            "lab.png is the --labels-from-prediction file",
        ),
        (["--out", "seg/seg_rounds.jsonl"], "is the rounds record of segment seg"),
        (["--out", "seg/seg_supervision_mask.png"], "is the supervision of segment seg"),
    ],
)
def test_train_never_writes_over_its_inputs(place, capsys, options, message):
    _refused(["train", "seg", *options, *TRAIN], place, message, capsys)


def test_the_api_never_writes_over_the_segment(place):
    from inkloop.headless import predict_to_file, train_to_file
    from inkloop.settings import EngineSettings
    from tests._helpers import tiny_model, tiny_training

    before = folder_contents(place)
    labels = place / "seg" / "seg_inklabels.png"
    with pytest.raises(ValueError, match="is the ink labels of segment seg"):
        predict_to_file(place / "seg", place / "model.pt", labels, progress=False)
    segment = open_segment(place / "seg")
    ink, mask = np.asarray(segment.ink_labels), np.asarray(segment.mask)
    settings = EngineSettings(model=tiny_model(), train=tiny_training(max_steps=1))
    with pytest.raises(ValueError, match="is the ink labels of segment seg"):
        train_to_file(segment, ink, mask, settings, labels, progress=False)
    assert folder_contents(place) == before


@pytest.mark.parametrize(
    ("command", "message"),
    [
        (["predict", "seg", "--model", "model.pt", "--out-dir", "lab.png"],
         "--out-dir {place}/lab.png: is a file; give a folder"),
        (["predict", "--segments-file", "none.txt", "--model", "model.pt", "--out-dir", "d"],
         "--segments-file none.txt: No such file or directory"),
        (["synth", "lab.png"], "lab.png: is a file; a synthetic segment needs a new folder"),
        (["demo", "--headless", "lab.png"], "--headless lab.png: is a file; give a folder"),
        (["train", "seg", "--out", "m.pt", "--prediction-threshold", "0.3", *TRAIN],
         "--prediction-threshold: only with --labels-from-prediction"),
        (["train", "seg", "--out", "m.pt", "--prediction-hard", *TRAIN],
         "--prediction-hard: only with --labels-from-prediction"),
        (["check", "seg", "--device", "cpu"],
         "--device: only with --model (which reads the stack on it)"),
    ],
)  # fmt: skip
def test_path_and_option_mistakes_are_one_line_naming_the_option(place, capsys, command, message):
    before = folder_contents(place)
    assert main(command) == _refusal(command)
    error = capsys.readouterr().err
    assert error.startswith(f"inkloop {command[0]}: error: ")
    assert error.endswith(f"{message.format(place=place)}\n")
    assert error.count("\n") == 1
    assert folder_contents(place) == before


def test_an_out_dir_that_cannot_be_made_is_one_line(place, capsys, monkeypatch):
    def read_only(*args, **kwargs):
        raise OSError(errno.EROFS, "Read-only file system")

    monkeypatch.setattr(Path, "mkdir", read_only)
    assert main(["predict", "seg", "--model", "model.pt", "--out-dir", "d", "--quiet"]) == REFUSED
    assert capsys.readouterr().err == (
        f"inkloop predict: error: --out-dir {place / 'd'}: cannot make the folder "
        "(Read-only file system)\n"
    )


def test_a_layer_folder_spelled_in_capitals_is_refused_too(place, capsys):
    (place / "seg" / "layers").rename(place / "seg" / "LAYERS")
    command = ["predict", "seg", "--model", "model.pt", "--out-dir", "seg/LAYERS"]
    _refused(command, place, "lies in the layer folder of segment seg", capsys)
