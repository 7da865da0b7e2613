"""Whether a stack is stored back to front is a fact of that stack, not of a model: a model
trained on a reversed segment reads other segments as stored (and says so), `predict
--reverse` reads them back to front, and the segment it was trained on keeps its order."""

from __future__ import annotations

import contextlib
import dataclasses
import io

import numpy as np
import pytest

from inkloop.cli import main
from inkloop.io import read_image
from inkloop.synthetic import write_segment
from tests._helpers import FAST

SHAPE = (8, 64, 64)  # layers, height, width of one sheet, stored both ways


@pytest.fixture(scope="module")
def sheet(tmp_path_factory):
    """One synthetic sheet stored front to back ("forward") and back to front ("backward")."""
    root = tmp_path_factory.mktemp("sheet")
    depth, height, width = SHAPE
    return {
        name: write_segment(root / name, height, width, depth, seed=4, reverse=reverse)
        for name, reverse in (("forward", False), ("backward", True))
    }


@pytest.fixture(scope="module")
def models(sheet, tmp_path_factory):
    """A model trained on each copy, each read in depth order (the backward one --reverse)."""
    root = tmp_path_factory.mktemp("models")
    trained = {}
    for name, extra in (("forward", []), ("backward", ["--reverse"])):
        out = root / f"{name}.pt"
        args = ["train", str(sheet[name]), "--out", str(out), "--max-steps", "1", *extra]
        assert main([*args, "--z-count", "4", "--encoder", "tu-test_resnet", *FAST]) == 0
        trained[name] = out
    return trained


@pytest.fixture(scope="module")
def predict(sheet, models, tmp_path_factory):
    """``predict(segment, model, *options)``: `inkloop predict` of the sheet's copy ``segment``
    with ``model``, its map and what stderr said; each asked once in the module."""
    root, done = tmp_path_factory.mktemp("maps"), {}

    def predicted(segment: str, model: str, *extra: str) -> tuple[np.ndarray, str]:
        key = (segment, model, *extra)
        if key not in done:
            out = root / f"{'_'.join(key)}.png"
            args = ["predict", str(sheet[segment]), "--model", str(models[model]), *extra]
            err = io.StringIO()
            with contextlib.redirect_stderr(err):
                code = main([*args, "--out", str(out), "--device", "cpu", "--quiet"])
            assert code == 0, err.getvalue()
            done[key] = read_image(out, grey=True), err.getvalue()
        return done[key]

    return predicted


def test_a_model_trained_on_a_reversed_stack_reads_a_forward_one_as_the_forward_model_does(
    predict,
):
    by_forward, said = predict("forward", "forward")
    assert "stored back to front" not in said
    by_backward, said = predict("forward", "backward")

    # both read the same layers in the same (depth) order, so they learned the same weights
    np.testing.assert_array_equal(by_backward, by_forward)
    assert (
        "inkloop predict: backward.pt was trained on a stack stored back to front and reads "
        "forward as stored; if forward is stored back to front too, predict it with "
        "`inkloop predict --reverse`"
    ) in said


def test_predict_reverse_reads_a_stack_stored_back_to_front(sheet, models, predict):
    from inkloop.checkpoint import load_checkpoint
    from inkloop.io import open_segment
    from inkloop.predict import model_window

    as_trained, _ = predict("forward", "forward")
    flipped, said = predict("backward", "forward", "--reverse")

    np.testing.assert_array_equal(flipped, as_trained)
    assert "stored back to front" not in said  # the model was trained on a forward stack
    # read as stored, the layers would run the other way
    as_stored = model_window(load_checkpoint(models["forward"]), open_segment(sheet["backward"]))
    assert not as_stored.reverse


def test_the_segment_a_model_was_trained_on_keeps_its_order(sheet, models):
    from inkloop.checkpoint import load_checkpoint
    from inkloop.io import open_segment
    from inkloop.predict import model_window, trained_start

    checkpoint = load_checkpoint(models["backward"])
    backward, forward = open_segment(sheet["backward"]), open_segment(sheet["forward"])
    on_its_own = model_window(checkpoint, backward)
    assert on_its_own == checkpoint.composition  # reversed, at the layers it was trained on
    assert on_its_own.reverse
    assert trained_start(checkpoint, backward) == on_its_own.z_start
    assert not model_window(checkpoint, forward).reverse
    assert model_window(checkpoint, forward, reverse=True) == on_its_own
    # a checkpoint that does not name its segment keeps the order it was trained with
    unnamed = dataclasses.replace(checkpoint, provenance={})
    assert model_window(unnamed, forward).reverse


def test_predict_no_reverse_reads_the_models_own_segment_as_stored(predict):
    as_trained, said = predict("backward", "backward")
    assert "stored back to front and reads" not in said  # its own segment: as it was trained
    as_stored, said = predict("backward", "backward", "--no-reverse")

    assert "backward.pt was trained on a stack stored back to front and reads backward" in said
    assert not np.array_equal(as_stored, as_trained)  # the layers run the other way
