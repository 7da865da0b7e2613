"""`inkloop predict` reads the layers the model was trained on, in a download of fewer layers
too, or where --z-start moves them; a stack without them is refused."""

from __future__ import annotations

import numpy as np
import pytest

from inkloop._cli_predict import REFUSED
from inkloop.cli import main
from inkloop.io import read_image
from tests._helpers import TRAIN_SHAPE


def test_stderr_names_the_layers_the_model_reads(training_folder, model, tmp_path, capsys):
    from inkloop.checkpoint import load_checkpoint

    window = load_checkpoint(model).composition
    out = tmp_path / "p.png"
    args = ["predict", str(training_folder), "--model", str(model), "--out", str(out)]
    assert main([*args, "--device", "cpu"]) == 0
    last = window.z_start + window.z_count - 1
    assert (
        f"predicting {training_folder.name} from layers {window.z_start}..{last} of its "
        f"{TRAIN_SHAPE[0]}, the layers model.pt was trained on"
    ) in capsys.readouterr().err
    assert load_checkpoint(model).layers == tuple(range(window.z_start, last + 1))


def test_a_model_for_more_layers_than_the_segment_has_is_refused(model, tmp_path, capsys):
    from inkloop.synthetic import write_segment

    thin = write_segment(tmp_path / "thin", 64, 64, 4, seed=1)
    out = tmp_path / "p.png"
    assert main(["predict", str(thin), "--model", str(model), "--out", str(out)]) == REFUSED
    assert "the model was trained on layers 2..5 (file numbers) but thin has 4 layers (0..3)" in (
        capsys.readouterr().err
    )
    assert not out.exists()


def test_a_checkpoint_without_layer_numbers_places_its_window_by_position(model, tmp_path):
    import dataclasses

    from inkloop.checkpoint import load_checkpoint
    from inkloop.io import open_segment
    from inkloop.predict import model_window
    from inkloop.synthetic import write_segment

    older = dataclasses.replace(load_checkpoint(model), layers=())  # from before they were kept
    wide = open_segment(write_segment(tmp_path / "wide", 64, 64, 12, seed=1))
    assert model_window(older, wide).z_start == older.composition.z_start
    thin = open_segment(write_segment(tmp_path / "thin", 64, 64, 4, seed=1))
    with pytest.raises(ValueError, match=r"z-window 2\.\.5 is outside layers 0\.\.3"):
        model_window(older, thin)


def test_the_trained_layers_are_found_at_the_end_of_a_download(training_folder, model, tmp_path):
    import shutil

    from inkloop.checkpoint import load_checkpoint
    from inkloop.io import open_segment
    from inkloop.predict import model_window

    subset = shutil.copytree(training_folder, tmp_path / training_folder.name)
    for number in (0, 6, 7):  # a download of layers 01..05: the trained 2..5 are its last 4
        (subset / "layers" / f"{number:02d}.tif").unlink()
    segment = open_segment(subset)
    window = model_window(load_checkpoint(model), segment)
    assert window.z_start == 1
    assert window.file_layers(segment) == (2, 3, 4, 5)


def _predicted(segment, model, out, *extra) -> tuple[np.ndarray, str]:
    """`inkloop predict` of ``segment`` into the PNG ``out``: the probability and the line
    that says which layers it read."""
    import contextlib
    import io

    err = io.StringIO()
    with contextlib.redirect_stderr(err):
        code = main(["predict", str(segment), "--model", str(model), "--out", str(out), *extra])
    assert code == 0, err.getvalue()
    line = next(line for line in err.getvalue().splitlines() if line.startswith("predicting"))
    return read_image(out, grey=True), line


def test_a_segment_of_fewer_layers_is_read_at_the_layers_the_model_was_trained_on(
    training_folder, model, tmp_path
):
    import shutil

    subset = shutil.copytree(training_folder, tmp_path / training_folder.name)
    for number in (0, 1):  # a download of layers 02..07 only
        (subset / "layers" / f"{number:02d}.tif").unlink()

    whole, _ = _predicted(training_folder, model, tmp_path / "whole.png")
    part, line = _predicted(subset, model, tmp_path / "part.png")

    assert "from layers 0..3 of its 6 (files 2..5), the layers model.pt was trained on" in line
    np.testing.assert_array_equal(part, whole)


def test_z_start_moves_the_model_window_and_a_window_off_the_stack_is_refused(
    training_folder, model, tmp_path, capsys
):
    trained, _ = _predicted(training_folder, model, tmp_path / "trained.png")
    moved, line = _predicted(training_folder, model, tmp_path / "moved.png", "--z-start", "4")

    assert "from layers 4..7 of its 8, moved there by --z-start" in line
    assert (moved != trained).any()  # the same layers give the same map, bit for bit
    capsys.readouterr()
    out = tmp_path / "off.png"
    args = ["predict", str(training_folder), "--model", str(model), "--out", str(out)]
    assert main([*args, "--z-start", "5"]) == REFUSED
    assert capsys.readouterr().err.strip() == (
        "inkloop predict: error: z-window 5..8 is outside layers 0..7"
    )
    assert not out.exists()
