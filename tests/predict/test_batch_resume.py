"""A batch run again into its --out-dir skips only the outputs made as this run makes them
(the same model file, layers, order and tta): another model's, or one whose record cannot be
read, is refused in one line naming it, unless --overwrite, and kept byte for byte."""

from __future__ import annotations

import json

import pytest

from inkloop._cli_predict import REFUSED
from inkloop.cli import main
from inkloop.io import write_png
from inkloop.synthetic import write_segment
from tests._helpers import save_tiny_checkpoint


@pytest.fixture
def predicted(tmp_path, monkeypatch):
    """Segments a and b (8 layers), predicted into out/ as PNGs by model.pt (layers 0..3)."""
    monkeypatch.chdir(tmp_path)
    for seed, name in enumerate("ab"):
        write_segment(tmp_path / name, 64, 64, 8, seed=seed)
    save_tiny_checkpoint(tmp_path / "model.pt")
    assert _predict("model.pt") == 0
    return tmp_path


def _predict(model: str, *extra) -> int:
    command = ["predict", "a", "b", "--model", model, "--out-dir", "out", "--format", "png"]
    return main([*command, "--device", "cpu", "--quiet", *extra])


def _outputs(root) -> dict:
    return {p.name: p.read_bytes() for p in sorted((root / "out").iterdir())}


def test_a_rerun_with_the_same_model_skips_and_another_model_is_refused(predicted, capsys):
    capsys.readouterr()
    before = _outputs(predicted)
    assert _predict("model.pt") == 0  # resumes: nothing left to do
    assert json.loads(capsys.readouterr().out)["skipped"] == [
        str(predicted / "out" / f"{name}_prediction.png") for name in "ab"
    ]
    save_tiny_checkpoint(predicted / "other.pt")  # other weights: another file's sha256
    assert _predict("other.pt") == REFUSED
    assert capsys.readouterr().err == (
        f"inkloop predict: error: {predicted / 'out'} holds 2 finished outputs this run would "
        "make otherwise, so they are not skipped: a_prediction.png (another model), "
        "b_prediction.png (another model); pass --overwrite (overwrite=True in Python) to "
        "replace them, or write to another folder\n"
    )
    assert _outputs(predicted) == before
    assert _predict("other.pt", "--overwrite") == 0
    assert len(json.loads(capsys.readouterr().out)["written"]) == 2
    after = _outputs(predicted)
    assert after.keys() == before.keys()
    assert after != before  # the other model's now


@pytest.mark.parametrize(
    ("options", "differ"),
    [(["--tta"], "other tta"), (["--z-start", "2"], "other layers")],
)
def test_a_rerun_with_options_that_change_the_pixels_is_refused(predicted, capsys, options, differ):
    capsys.readouterr()
    before = _outputs(predicted)
    assert _predict("model.pt", *options) == REFUSED
    assert f"a_prediction.png ({differ}), b_prediction.png ({differ});" in capsys.readouterr().err
    assert _outputs(predicted) == before


def test_an_output_that_records_nothing_readable_is_refused(tmp_path, monkeypatch, capsys):
    """Another tool's PNG under the output's name, and a file that is not an image."""
    import numpy as np

    monkeypatch.chdir(tmp_path)
    for seed, name in enumerate("ab"):
        write_segment(tmp_path / name, 64, 64, 8, seed=seed)
    save_tiny_checkpoint(tmp_path / "model.pt")
    (tmp_path / "out").mkdir()
    write_png(tmp_path / "out" / "a_prediction.png", np.zeros((64, 64), np.uint8))
    (tmp_path / "out" / "b_prediction.png").write_bytes(b"half a download")
    assert _predict("model.pt") == REFUSED
    error = capsys.readouterr().err
    assert "a_prediction.png (it records no provenance)" in error
    assert "b_prediction.png (its record cannot be read: " in error
    assert (tmp_path / "out" / "b_prediction.png").read_bytes() == b"half a download"
