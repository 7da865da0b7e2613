"""A timm encoder smp cannot make a UNet of (too few stages, one input size) is a
ModelSettingsError saying why, checked on the meta device at the depth the model is built
with: `inkloop train` says it in one line. Encoders that build still pass, and an error of
something else is not taken for the encoder's."""

from __future__ import annotations

import logging

import pytest
import segmentation_models_pytorch as smp

from inkloop import model
from inkloop.cli import main
from inkloop.engine import resolve_run
from inkloop.model import ModelSettingsError, build_model, check_encoder
from inkloop.settings import EngineSettings, ModelConfig
from tests._helpers import FAST

ADVICE = "; use a convolutional one, e.g. tu-resnet10t"


@pytest.fixture
def fresh_probe():
    """The encoder probe without the answers earlier tests cached."""
    model._check_pyramid.cache_clear()
    yield
    model._check_pyramid.cache_clear()


def test_train_with_a_one_size_encoder_is_one_line(training_folder, tmp_path, capfd, caplog):
    out = tmp_path / "model.pt"
    command = ["train", str(training_folder), "--out", str(out), "--max-steps", "1", *FAST]
    assert main([*command, "--encoder", "tu-nest_tiny"]) == 1
    assert not [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    (line,) = capfd.readouterr().err.splitlines()
    assert line == (
        "inkloop train: error: encoder 'tu-nest_tiny' cannot be a UNet's: it takes only some "
        f"input sizes (Input height (64) doesn't match model (224).){ADVICE}"
    )
    assert not out.exists()


def test_too_few_stages_for_the_depth_asked_is_said():
    """NesT's three stages make no UNet of depth 5 (timm's IndexError before)."""
    config = ModelConfig(encoder="tu-nest_tiny").with_depth(5)
    settings = EngineSettings(model=config)
    for build in (lambda: build_model(config), lambda: resolve_run(settings, None)):
        with pytest.raises(ModelSettingsError) as raised:  # before a run starts, too
            build()
        assert str(raised.value) == (
            "encoder 'tu-nest_tiny' cannot be a UNet's: it has fewer than the 5 feature stages "
            f"of a UNet of depth 5{ADVICE}"
        )


@pytest.mark.parametrize(
    ("encoder", "depth"),
    [("tu-convnext_atto", 4), ("tu-resnet10t", 5), ("tu-mobilevit_xxs", 4), ("tu-pvt_v2_b0", 5)],
)
def test_encoders_that_build_pass(encoder, depth):
    """A ConvNeXt, a ResNet, a MobileViT (convolutions and attention), a PVT (a pyramid
    from scale 4, as transformers have)."""
    check_encoder(encoder, depth=depth, in_channels=16)


def test_an_error_of_something_else_is_raised_as_it_is(monkeypatch, fresh_probe):
    """Not taken for the encoder's fault: a bug is raised; an op the meta device lacks leaves
    the answer to the real build."""

    def broken(error):
        def get_encoder(*args, **kwargs):
            raise error

        return get_encoder

    monkeypatch.setattr(smp.encoders, "get_encoder", broken(TypeError("a bug")))
    with pytest.raises(TypeError, match="a bug"):
        check_encoder("tu-resnet10t")
    monkeypatch.setattr(smp.encoders, "get_encoder", broken(NotImplementedError("no meta")))
    check_encoder("tu-resnet10t")
