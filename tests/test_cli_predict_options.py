"""Options of `inkloop predict`, `evaluate` and `info` that contradict or surprise: refused in
one line before any work, or read as meant."""

from __future__ import annotations

import json

import numpy as np
import pytest
import tifffile
from PIL import Image

from inkloop._cli_predict import REFUSED
from inkloop.cli import main
from inkloop.io import write_png
from tests._helpers import save_tiny_checkpoint

SHAPE = (24, 32)


@pytest.mark.parametrize("name", ["m1.ckpt", "model"])
def test_info_reads_a_checkpoint_of_any_name(tmp_path, capsys, name):
    path = save_tiny_checkpoint(tmp_path / name)
    assert main(["info", str(path)]) == 0
    assert json.loads(capsys.readouterr().out)["step"] == 7


def test_info_of_a_file_that_is_neither_says_what_it_expected(tmp_path, capsys):
    (tmp_path / "seg.zip").write_bytes(b"PK")
    assert main(["info", str(tmp_path / "seg.zip")]) == 1
    assert (
        capsys.readouterr()
        .err.strip()
        .endswith(
            "seg.zip: neither a segment nor an inkloop checkpoint (expected a folder of layers, a "
            "multi-page TIFF, a zarr, or a MODEL.pt from inkloop train)"
        )
    )
    (tmp_path / "broken.pt").write_text("hello")  # named as a checkpoint: said as one
    assert main(["info", str(tmp_path / "broken.pt")]) == 1
    assert "broken.pt: not a readable inkloop checkpoint" in capsys.readouterr().err


def test_a_model_folder_is_refused_naming_the_checkpoints_in_it(segment_folder, tmp_path, capsys):
    models = tmp_path / "models"
    save_tiny_checkpoint(models / "m1.pt")
    out = tmp_path / "p.png"
    assert (
        main(
            ["predict", str(segment_folder), "--model", str(tmp_path / "models"), "--out", str(out)]
        )
        == REFUSED
    )
    error = capsys.readouterr().err
    assert error == (
        f"inkloop predict: error: --model {models}: is a folder; give a checkpoint file: "
        "it holds m1.pt\n"
    )
    assert not out.exists()


@pytest.mark.parametrize("where", [[], ["--z-start", "0"]])
def test_a_model_deeper_than_the_stack_is_refused_without_offering_a_z_start(
    segment_folder, tmp_path, capsys, where
):
    deep = save_tiny_checkpoint(tmp_path / "deep.pt", depth=16)  # the segment has 8 layers
    out = tmp_path / "p.png"
    args = ["predict", str(segment_folder), "--model", str(deep), "--out", str(out), *where]
    assert main(args) == REFUSED
    assert capsys.readouterr().err == (
        f"inkloop predict: error: the model reads 16 layers and {segment_folder.name} has 8: "
        "it cannot be used on this segment\n"
    )
    assert not out.exists()


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (["--out", "p.png", "--format", "tif"], "--format tif contradicts --out p.png, a PNG file"),
        (["--out", "p.zarr", "--format", "ome.zarr"], "name the file .ome.zarr"),
        (["--out", "p.png", "--tiff-float"], "--tiff-float writes a float32 TIFF, but --out p.png"),
        (
            ["--out-dir", "d", "--tiff-float"],
            "--out-dir gets OME-Zarr pyramid files (add --format tif)",
        ),
    ],
)
def test_options_that_contradict_the_output_format_are_refused(
    segment_folder, tmp_path, capsys, monkeypatch, options, message
):
    (tmp_path / "work").mkdir()
    monkeypatch.chdir(tmp_path / "work")
    assert main(["predict", str(segment_folder), "--model", "none.pt", *options]) == REFUSED
    error = capsys.readouterr().err
    assert message in error
    assert error.count("\n") == 1
    assert list((tmp_path / "work").iterdir()) == []


def test_options_that_agree_with_the_output_format_pass_on(segment_folder, tmp_path, capsys):
    out = tmp_path / "p.tif"
    args = ["predict", str(segment_folder), "--model", str(tmp_path / "none.pt"), "--out", str(out)]
    assert main([*args, "--format", "tif", "--tiff-float"]) == REFUSED
    assert "none.pt: no such checkpoint file" in capsys.readouterr().err  # past the checks


@pytest.fixture
def prediction(tmp_path):
    probability = np.random.default_rng(0).integers(0, 256, SHAPE).astype(np.uint8)
    return write_png(tmp_path / "p.png", probability)


def _evaluate(prediction, labels, capsys) -> dict:
    assert main(["evaluate", str(prediction), "--labels", str(labels)]) == 0
    return json.loads(capsys.readouterr().out)


def test_evaluate_reads_labels_of_0_and_1_and_floats_within_0_and_1_as_ink(
    prediction, tmp_path, capsys
):
    ink = np.zeros(SHAPE, bool)
    ink[4:12, 5:20] = True
    expected = _evaluate(prediction, write_png(tmp_path / "ink.png", ink * np.uint8(255)), capsys)
    assert expected["ink_share"] > 0
    Image.fromarray(ink.astype(np.uint8)).save(tmp_path / "ink01.png")
    assert _evaluate(prediction, tmp_path / "ink01.png", capsys) == expected
    tifffile.imwrite(tmp_path / "inkf.tif", ink.astype(np.float32))
    assert _evaluate(prediction, tmp_path / "inkf.tif", capsys) == expected


def test_evaluate_refuses_labels_without_ink(prediction, tmp_path, capsys):
    labels = write_png(tmp_path / "empty.png", np.zeros(SHAPE, np.uint8))
    assert main(["evaluate", str(prediction), "--labels", str(labels)]) == 1
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err == (
        f"inkloop evaluate: error: {labels}: the labels hold no ink on the pixels scored: "
        "every score would be 0\n"
    )
