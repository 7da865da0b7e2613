"""`inkloop predict` and `inkloop evaluate`: train -> predict -> evaluate, and early errors."""

from __future__ import annotations

import json

import numpy as np
import pytest
import tifffile
import torch
import zarr

from inkloop._cli_predict import REFUSED
from inkloop.cli import main
from inkloop.io import is_prediction_pyramid, read_image, read_prediction, write_png
from inkloop.metrics import best_scores
from inkloop.predict import Predictor
from tests._helpers import FAST


def test_a_gpu_out_of_memory_for_one_tile_is_one_line(training_folder, model, tmp_path, capsys):
    def out_of_memory(predictor, layers):  # what a full GPU does to every pass
        raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")

    out = tmp_path / "prediction.tif"
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(Predictor, "_forward", out_of_memory)
        args = ["predict", str(training_folder), "--model", str(model), "--out", str(out)]
        assert main([*args, "--device", "cpu", "--quiet"]) == 1
    error = capsys.readouterr().err.strip().splitlines()[-1]
    assert error.startswith("inkloop predict: error: out of GPU memory predicting a single tile")
    assert not out.exists()


@pytest.mark.parametrize("suffix", [".ome.zarr", ".png", ".tif", ".zarr"])
def test_round_trip_train_predict_evaluate(training_folder, model, tmp_path, capsys, suffix):
    capsys.readouterr()
    out = tmp_path / f"prediction{suffix}"
    args = ["predict", str(training_folder), "--model", str(model), "--out", str(out)]
    assert main([*args, "--device", "cpu", "--quiet"]) == 0
    assert json.loads(capsys.readouterr().out)["written"] == [str(out)]
    probability = read_prediction(out)
    assert probability.shape == (96, 128)
    assert 0 <= probability.min() <= probability.max() <= 1
    mask = read_image(next(training_folder.glob("*_mask.png"))) > 0
    assert not probability[~mask].any()
    if suffix == ".png":
        assert read_image(out).dtype == np.uint8
    elif suffix == ".tif":
        assert tifffile.imread(out).dtype == np.uint8
    elif suffix == ".ome.zarr":
        assert is_prediction_pyramid(out)
    else:
        assert zarr.open_array(str(out), mode="r").dtype == np.float32

    labels = next(training_folder.glob("*_inklabels.png"))
    assert main(["evaluate", str(out), "--labels", str(labels)]) == 0
    report = json.loads(capsys.readouterr().out)
    assert set(report) >= {"f05", "precision", "recall", "f1", "threshold", "at_0.5"}
    truth = read_image(labels) > 127
    expected = best_scores(read_prediction(out), truth)  # the file's scores, as it was written
    assert report["f05"] == pytest.approx(expected.f05)
    assert report["threshold"] == pytest.approx(expected.threshold)
    share = truth.mean()
    assert report["ink_share"] == pytest.approx(share, abs=1e-4)
    assert report["chance_f05"] == pytest.approx(1.25 * share / (0.25 * share + 1), abs=1e-4)

    # the right half alone, as the dev protocol scores a model trained on the left
    assert main(["evaluate", str(out), "--labels", str(labels), "--region", "0:96,64:128"]) == 0
    half = json.loads(capsys.readouterr().out)
    expected = best_scores(read_prediction(out)[:, 64:], truth[:, 64:])
    assert half["f05"] == pytest.approx(expected.f05)
    assert half["ink_share"] == pytest.approx(truth[:, 64:].mean(), abs=1e-4)


def test_a_region_is_predicted_at_full_resolution_and_scored_there(
    training_folder, model, tmp_path, capsys
):
    out = tmp_path / "part.tif"
    args = ["predict", str(training_folder), "--model", str(model), "--out", str(out)]
    assert main([*args, "--region", "10:50,20:120", "--device", "cpu", "--quiet"]) == 0
    assert read_prediction(out).shape == (40, 100)
    capsys.readouterr()

    labels = next(training_folder.glob("*_inklabels.png"))  # the whole segment's
    assert main(["evaluate", str(out), "--labels", str(labels), "--region", "10:50,20:120"]) == 0
    report = json.loads(capsys.readouterr().out)
    truth = read_image(labels)[10:50, 20:120] > 127
    assert report["f05"] == pytest.approx(best_scores(read_prediction(out), truth).f05)
    assert report["ink_share"] == pytest.approx(truth.mean(), abs=1e-4)

    # every format of the region says where it lies, so that napari shows it over the region
    from inkloop.io import prediction_origin

    assert prediction_origin(out) == (10.0, 20.0)
    for name in ("part.ome.zarr", "part.png", "part.zarr"):
        part = tmp_path / name
        args = ["predict", str(training_folder), "--model", str(model), "--out", str(part)]
        assert main([*args, "--region", "10:50,20:120", "--device", "cpu", "--quiet"]) == 0
        assert prediction_origin(part) == (10.0, 20.0), name
    whole = tmp_path / "whole.png"
    args = ["predict", str(training_folder), "--model", str(model), "--out", str(whole)]
    assert main([*args, "--device", "cpu", "--quiet"]) == 0
    assert prediction_origin(whole) == (0.0, 0.0)


def test_a_named_output_that_exists_is_refused_unless_overwrite(
    training_folder, model, tmp_path, capsys
):
    out = tmp_path / "p.png"
    out.write_bytes(b"an older file")  # a typo in --out must not cost the user this file
    args = ["predict", str(training_folder), "--model", str(model), "--out", str(out)]
    assert main([*args, "--device", "cpu", "--quiet"]) == REFUSED
    assert (
        f"{out} exists; pass --overwrite (overwrite=True in Python) to replace it"
        in capsys.readouterr().err
    )
    assert out.read_bytes() == b"an older file"
    assert main([*args, "--overwrite", "--device", "cpu", "--quiet"]) == 0
    assert json.loads(capsys.readouterr().out)["written"] == [str(out)]
    assert read_prediction(out).shape == (96, 128)


def test_a_tilde_the_shell_left_unexpanded_means_home(
    training_folder, model, tmp_path, monkeypatch
):
    monkeypatch.setenv("HOME", str(tmp_path))  # bash leaves the ~ of `--out=~/p.png` alone
    monkeypatch.setenv("USERPROFILE", str(tmp_path))  # where Windows' expanduser looks
    args = ["predict", str(training_folder), "--model", str(model), "--out=~/p.png"]
    assert main([*args, "--device", "cpu", "--quiet"]) == 0
    assert read_prediction(tmp_path / "p.png").shape == (96, 128)


def test_tiff_float_keeps_the_probability_as_float32(training_folder, model, tmp_path):
    out = tmp_path / "p.tif"
    args = ["predict", str(training_folder), "--model", str(model), "--out", str(out)]
    assert main([*args, "--tiff-float", "--device", "cpu", "--quiet"]) == 0
    assert tifffile.imread(out).dtype == np.float32


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (
            ["--region", "0:500,0:10"],
            "region 0:500,0:10 (rows, columns) is empty or outside the 96x128 segment",
        ),
        (["--out", "/no/such/folder/p.png"], "folder does not exist"),
        (["--out", "prediction.jpg"], "must end in .ome.zarr, .png, .tif, .tiff or .zarr"),
        (["--device", "banana"], "unknown device 'banana': use auto, cpu, cuda, cuda:N or mps"),
    ],
)
def test_bad_input_is_one_line_before_any_work(
    training_folder, model, tmp_path, capsys, extra, message
):
    args = ["predict", str(training_folder), "--model", str(model)]
    args += ["--out", str(tmp_path / "p.png"), "--quiet", *extra]
    assert main(args) == REFUSED
    captured = capsys.readouterr()
    assert message in captured.err
    assert captured.err.strip().count("\n") == 0
    assert list(tmp_path.iterdir()) == []


def test_a_batch_of_no_tiles_is_refused_before_any_work(training_folder, model, tmp_path, capsys):
    args = [
        "predict",
        str(training_folder),
        "--model",
        str(model),
        "--out",
        str(tmp_path / "p.png"),
    ]
    assert main([*args, "--batch-size", "0", "--quiet"]) == REFUSED
    assert "batch size 0 must be at least 1 tile" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []


def test_evaluate_names_the_prediction_whose_size_differs(tmp_path, capsys):
    write_png(tmp_path / "p.png", np.zeros((10, 12), np.uint8))
    write_png(tmp_path / "ink.png", np.zeros((10, 13), np.uint8))
    assert main(["evaluate", str(tmp_path / "p.png"), "--labels", str(tmp_path / "ink.png")]) == 1
    assert "ink.png: image is 10x13 but the prediction p.png is 10x12" in capsys.readouterr().err


def test_a_region_goes_to_its_own_file_not_into_an_out_dir(
    training_folder, model, tmp_path, capsys
):
    args = ["predict", str(training_folder), "--model", str(model), "--quiet"]
    args += ["--out-dir", str(tmp_path / "d"), "--region", "0:10,0:10"]
    assert main(args) == REFUSED  # there it would take the whole segment's name, skipped later
    assert "--region takes one segment and --out" in capsys.readouterr().err
    assert not (tmp_path / "d").exists()


def test_a_checkpoint_rewritten_while_blocks_travel_is_refused_not_mixed_in(
    training_folder, model, tmp_path
):
    import os
    import pickle
    import shutil

    from inkloop.checkpoint import CheckpointError, load_checkpoint
    from inkloop.io import open_segment
    from inkloop.predict import _travel

    weights = shutil.copy(model, tmp_path / "model.pt")
    segment = open_segment(training_folder)
    predictor = Predictor.from_checkpoint(
        load_checkpoint(weights), segment, device="cpu", weights_file=str(weights)
    )
    shipped = pickle.dumps(predictor)  # as to a dask worker: without its weights
    assert pickle.loads(shipped).model is not None

    later = os.stat(weights).st_mtime_ns + 10**9  # trained further meanwhile
    os.utime(weights, ns=(later, later))
    assert pickle.loads(shipped).model is not None  # a worker that loaded it: the same weights
    _travel._MODELS.clear()  # one that had not
    arrived = pickle.loads(shipped)  # unpickles: dask would hide an error raised here
    with pytest.raises(CheckpointError, match="changed while the prediction ran"):
        arrived.forward(torch.zeros(1, 8, 32, 32))


def test_a_segment_url_is_predicted_into_a_named_file(tmp_path, synthetic, monkeypatch, capsys):
    from tests._http import serve, write_served_segment

    monkeypatch.setenv("INKLOOP_DATA", str(tmp_path / "home"))
    root = tmp_path / "served"
    root.mkdir()
    write_served_segment(root, "seg", synthetic)
    labels, model, out = (tmp_path / name for name in ("ink.png", "model.pt", "pred.png"))
    write_png(labels, (synthetic.ink > 0.5).astype(np.uint8) * 255)
    with serve(root) as (base, _server):
        url = f"{base}/seg.zarr"
        train = ["train", url, "--labels", str(labels), "--out", str(model), "--max-steps", "2"]
        assert main([*train, *FAST]) == 0
        capsys.readouterr()
        args = ["predict", url, "--model", str(model), "--out", str(out), "--device", "cpu"]
        assert main([*args, "--quiet"]) == 0, capsys.readouterr().err

    assert json.loads(capsys.readouterr().out)["written"] == [str(out)]
    assert read_prediction(out).shape == synthetic.mask.shape
