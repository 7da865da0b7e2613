"""Patches the deepest encoder stage sees as 1x1 train in batches of 2 at least where the encoder
has BatchNorm: a batch of 1 is refused before any training, and out of GPU memory halves the
batch no lower than 2. Encoders without BatchNorm (LayerNorm, GroupNorm) train on 1."""

from __future__ import annotations

import dataclasses
import logging
import math

import pytest
import torch

from inkloop.cli import main
from inkloop.model import ModelSettingsError, build_model
from inkloop.settings import ModelConfig
from inkloop.train import Trainer
from inkloop.train._smallest import smallest_batch
from tests._helpers import tiny_model, tiny_training

ONE_BY_ONE = "32² patches are 1x1 at the deepest of the model's 5 encoder stages"
WHY = f"{ONE_BY_ONE}, and a BatchNorm in training needs more than one value"


def _five_stages(encoder: str = "tu-test_resnet") -> ModelConfig:
    """`tiny_model` with five encoder stages: 32² patches reach its deepest as 1x1."""
    return dataclasses.replace(tiny_model(), encoder=encoder, decoder_channels=(16, 8, 8, 8, 8))


NO_BATCH_NORM = "tu-test_efficientnet_ln"  # LayerNorm throughout, like mit_b0 and convnexts


def _fewest(config: ModelConfig, patch_size: int) -> tuple[int, str]:
    return smallest_batch(config, build_model(config), patch_size, batch_size=2)


def test_only_patches_one_pixel_deep_need_two_a_step():
    assert _fewest(_five_stages(), 32) == (2, WHY)
    assert _fewest(_five_stages(), 64) == (1, "")  # 2x2
    assert _fewest(tiny_model(), 32) == (1, "")  # 3 stages: 4x4
    assert _fewest(_five_stages(NO_BATCH_NORM), 32) == (1, "")


def test_a_batch_of_one_that_cannot_train_is_refused_before_any_step(parts):
    config = tiny_training(batch_size=1, loader_workers=0)
    with pytest.raises(ModelSettingsError, match=f"a batch of 1 cannot train: {ONE_BY_ONE}"):
        Trainer(*parts, config, model_config=_five_stages())
    trainer = Trainer(*parts, config, model_config=tiny_model())  # 4x4 at its deepest
    assert trainer.step().batch_size == 1
    trainer.close()


def test_an_encoder_without_batch_norm_trains_a_batch_of_one_one_pixel_deep(parts):
    config = tiny_training(batch_size=1, loader_workers=0)
    trainer = Trainer(*parts, config, model_config=_five_stages(NO_BATCH_NORM))
    result = trainer.step()
    trainer.close()
    assert result.batch_size == 1
    assert math.isfinite(result.loss)


def _fail_above(module, batch: int) -> None:
    """Make ``module``'s forward passes of more than ``batch`` patches run out of GPU memory."""

    def full(_module, inputs):
        if inputs[0].shape[0] > batch:
            raise torch.OutOfMemoryError("CUDA out of memory")

    module.register_forward_pre_hook(full)


def test_out_of_gpu_memory_halves_a_batch_of_three_to_two_not_one(parts):
    trainer = Trainer(*parts, tiny_training(batch_size=3), model_config=_five_stages())
    _fail_above(trainer.model, batch=2)
    result = trainer.step()
    trainer.close()
    assert result.batch_size == 2
    assert result.notice == "out of GPU memory: batch size halved to 2, training goes on"


def test_out_of_gpu_memory_halves_to_one_without_batch_norm(parts):
    config = tiny_training(batch_size=2, loader_workers=0)
    trainer = Trainer(*parts, config, model_config=_five_stages(NO_BATCH_NORM))
    _fail_above(trainer.model, batch=1)
    result = trainer.step()
    trainer.close()
    assert result.batch_size == 1
    assert result.notice == "out of GPU memory: batch size halved to 1, training goes on"


def test_out_of_gpu_memory_at_two_says_why_it_cannot_go_lower(parts):
    trainer = Trainer(*parts, tiny_training(batch_size=4), model_config=_five_stages())
    _fail_above(trainer.model, batch=1)
    with pytest.raises(MemoryError) as failed:
        trainer.step()
    trainer.close()
    assert str(failed.value) == (
        "out of GPU memory even with a batch of 2: use a lighter or shallower model "
        f"(a batch of 1 cannot train: {WHY}) or --device cpu"
    )
    assert isinstance(failed.value.__cause__, torch.OutOfMemoryError)


def test_inkloop_train_refuses_a_batch_of_one_in_one_line(
    training_folder, tmp_path, capsys, caplog
):
    out = tmp_path / "model.pt"
    options = ["--encoder", "tu-test_resnet", "--encoder-depth", "5", "--patch-size", "32"]
    args = ["train", str(training_folder), "--out", str(out), "--max-steps", "1", *options]
    assert main([*args, "--batch-size", "1", "--device", "cpu", "--quiet"]) == 1
    error = capsys.readouterr().err
    assert error.startswith(f"inkloop train: error: a batch of 1 cannot train: {ONE_BY_ONE}")
    assert error.strip().count("\n") == 0
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]  # no traceback logged
    assert not out.exists()
