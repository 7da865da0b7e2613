"""What the Python API makes of its inputs: score arrays of each type, segments and
checkpoints given as paths, a checkpoint whose weights do not fit its model."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch

from inkloop.checkpoint import (
    Checkpoint,
    CheckpointError,
    describe_checkpoint,
    load_checkpoint,
    save_checkpoint,
)
from inkloop.cli import main
from inkloop.compose import Composition, Normalisation
from inkloop.io import open_segment
from inkloop.metrics import best_scores, chance_scores, scores
from inkloop.model import build_model
from inkloop.predict import Predictor
from tests._helpers import tiny_model

INK = np.array([255, 255, 200, 100, 0, 0], np.uint8)


def test_a_uint8_prediction_scores_as_read_from_its_file():
    stored = np.array([250, 127, 140, 200, 10, 127], np.uint8)  # a PNG prediction, as stored
    as_read = stored.astype(np.float32) / 255  # what inkloop.io.read_prediction gives
    assert scores(stored, INK) == scores(as_read, INK)
    assert scores(stored, INK).recall == pytest.approx(2 / 3)  # 127 is below 0.5
    assert best_scores(stored, INK) == best_scores(as_read, INK)


def test_ink_of_each_type_means_the_same():
    probability = np.array([0.9, 0.9, 0.9, 0.9, 0.1, 0.9])
    as_floats = scores(probability, INK / 255)
    assert scores(probability, INK) == as_floats
    assert scores(probability, INK >= 128) == as_floats
    assert as_floats.precision == pytest.approx(3 / 5)


@pytest.mark.parametrize("dtype", [np.int64, np.uint16, np.int32])
def test_integer_ink_means_what_it_means_in_a_label_file(dtype):
    probability = np.full(INK.shape, 0.9)
    soft = INK // 4  # at most 63 of 255: no ink
    assert scores(probability, soft.astype(dtype)) == scores(probability, soft)
    binary = INK >= 128  # 0 and 1: 1 is ink
    assert scores(probability, binary.astype(dtype)) == scores(probability, binary)
    assert chance_scores(binary.astype(dtype)) == chance_scores(binary)


@pytest.mark.parametrize("dtype", [np.int64, np.uint16, np.int32])
def test_integer_predictions_other_than_uint8_are_refused(dtype):
    with pytest.raises(TypeError, match=f"prediction of type {np.dtype(dtype)}: expected"):
        best_scores(np.ones(INK.shape, dtype), INK)


@pytest.mark.parametrize("bad", [-0.1, 1.5, np.nan])
def test_floats_outside_0_to_1_are_refused(bad):
    probability = np.full(INK.shape, 0.5, np.float32)
    probability[0] = bad
    with pytest.raises(ValueError, match=r"^prediction must lie within 0\.\.1, found"):
        scores(probability, INK)
    scored = np.arange(INK.size) > 0  # a prediction off the pixels scored is not looked at
    assert scores(probability, INK, scored) == scores(probability[1:], INK[1:])
    with pytest.raises(ValueError, match=r"^float ink labels must lie within 0\.\.1"):
        best_scores(np.full(INK.shape, 0.5), np.where(INK > 0, 1.0, bad))


@pytest.fixture
def tiny_checkpoint(tmp_path):
    """A checkpoint file of an untrained ~80k-parameter model reading 4 layers."""
    config = dataclasses.replace(tiny_model(), in_channels=4)
    checkpoint = Checkpoint(
        model=config,
        composition=Composition(scale=1).resolve(8),
        normalisation=Normalisation(1000.0, 40000.0, (0.5, 99.5)),
        patch_size=32,
        step=1,
        state_dict=build_model(config).state_dict(),
    )
    return save_checkpoint(tmp_path / "tiny.pt", checkpoint)


def test_segments_and_checkpoints_may_be_given_as_paths(training_folder, tiny_checkpoint):
    predictor = Predictor.from_checkpoint(str(tiny_checkpoint), str(training_folder), device="cpu")
    region = (0, 0, 40, 50)
    expected = predictor.predict_region(open_segment(training_folder), region)
    np.testing.assert_array_equal(predictor.predict_region(str(training_folder), region), expected)
    [update] = predictor.stream(training_folder, region)
    np.testing.assert_array_equal(update.probability, expected)


def test_weights_that_do_not_fit_the_recorded_model_are_one_error(
    tiny_checkpoint, tmp_path, capsys
):
    payload = torch.load(tiny_checkpoint, weights_only=True)
    payload["model"]["decoder_channels"] = [8, 8, 8]  # the file edited: its weights are another's
    edited = tmp_path / "edited.pt"
    torch.save(payload, edited)
    message = f"^{edited}: its weights do not fit its recorded model \\(tu-test_resnet encoder\\): "
    with pytest.raises(
        CheckpointError, match=message + r"\d+ weights of another shape \(decoder\."
    ):
        load_checkpoint(edited).build()
    with pytest.raises(CheckpointError, match=message):
        describe_checkpoint(edited)
    named_otherwise = edited.rename(tmp_path / "edited.bin")  # `info` reads any file it can
    assert main(["info", str(named_otherwise)]) == 1
    assert "its weights do not fit its recorded model" in capsys.readouterr().err
