"""Which model on which device: the encoder `auto` picks, unknown encoders, devices, and
mixed precision on CPUs and GPUs."""

from __future__ import annotations

import dataclasses

import pytest
import torch

from inkloop.compose import Composition
from inkloop.model import (
    ModelSettingsError,
    autocast,
    build_model,
    cpu_has_bf16,
    default_encoder,
    mixed_precision,
    model_for,
    pick_device,
)
from inkloop.settings import ModelConfig


def test_default_model_maps_channels_to_one_logit_map():
    model = build_model(ModelConfig(in_channels=16)).eval()
    with torch.inference_mode():
        assert model(torch.zeros(1, 16, 64, 96)).shape == (1, 1, 64, 96)


@pytest.mark.parametrize(
    ("device", "bf16", "encoder"),
    [
        ("cpu", False, "tu-resnet10t"),  # AVX2 only: the light encoder learns more a second
        ("cpu", True, "resnet18"),
        (torch.device("cpu"), False, "tu-resnet10t"),
        ("cuda", False, "resnet18"),
        (torch.device("cuda", 0), False, "resnet18"),
        ("mps", False, "resnet18"),
    ],
)
def test_auto_encoder_follows_the_device(monkeypatch, device, bf16, encoder):
    monkeypatch.setattr("inkloop.model.cpu_has_bf16", lambda: bf16)
    assert default_encoder(device) == encoder


def test_a_new_model_names_the_encoder_auto_chose(monkeypatch):
    monkeypatch.setattr("inkloop.model.cpu_has_bf16", lambda: False)
    composition = Composition("raw", 0, 4).resolve(8)
    config, model = model_for(composition, ModelConfig(), None, torch.device("cpu"))
    assert config.encoder == "tu-resnet10t"  # what a checkpoint of it records
    assert type(model.encoder).__name__ == "TimmUniversalEncoder"
    chosen = dataclasses.replace(ModelConfig(), encoder="resnet34")
    assert model_for(composition, chosen, None, "cpu")[0].encoder == "resnet34"


def test_an_unknown_encoder_or_one_without_a_feature_pyramid_is_refused_by_name():
    with pytest.raises(ModelSettingsError, match="unknown encoder 'resnet7'; did you mean resnet"):
        build_model(ModelConfig(encoder="resnet7"))
    with pytest.raises(ModelSettingsError, match="unknown encoder 'tu-nothing'"):
        build_model(ModelConfig(encoder="tu-nothing"))
    vit = "encoder 'tu-vit_small_patch16_224' cannot be a UNet's: .* e.g. tu-resnet10t"
    with pytest.raises(ModelSettingsError, match=vit):  # all its features at 1/16: no pyramid
        build_model(ModelConfig(encoder="tu-vit_small_patch16_224"))


def test_device_choice():
    assert pick_device("cpu").type == "cpu"
    assert pick_device("auto").type in ("cuda", "mps", "cpu")
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match="no CUDA GPU"):
            pick_device("cuda")


def test_a_gpu_number_the_machine_lacks_is_refused_by_name(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 1)
    assert pick_device("cuda:0") == torch.device("cuda:0")
    with pytest.raises(ValueError, match=r"'cuda:1' asked for, but torch sees 1 CUDA GPU"):
        pick_device("cuda:1")


def test_mixed_precision_on_a_cpu_is_bf16_where_the_cpu_has_it():
    network = build_model(ModelConfig(in_channels=4)).eval()
    inputs = torch.rand(1, 4, 32, 32)
    with torch.inference_mode(), autocast(torch.device("cpu")):
        logits = network(inputs)
    assert logits.dtype == (torch.bfloat16 if cpu_has_bf16() else torch.float32)
    with torch.inference_mode(), autocast(torch.device("cpu"), enabled=False):
        assert network(inputs).dtype == torch.float32


def test_mixed_precision_on_a_gpu_is_bf16_where_that_gpu_computes_it_natively(monkeypatch):
    capabilities = {0: (8, 0), 1: (7, 5)}  # an A100 and a T4, the T4 current
    monkeypatch.setattr(torch.version, "hip", None)
    monkeypatch.setattr(torch.cuda, "current_device", lambda: 1)
    monkeypatch.setattr(
        torch.cuda, "get_device_capability", lambda device=None: capabilities[device.index]
    )
    # torch's own answer counts emulation, and is about the current GPU
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda including_emulation=True: True)
    assert mixed_precision(torch.device("cuda", 0)) is torch.bfloat16
    assert mixed_precision(torch.device("cuda", 1)) is torch.float16  # with a GradScaler
    assert mixed_precision(torch.device("cuda", 1), enabled=False) is None


@pytest.mark.parametrize(("avx512_bf16", "amx"), [(True, False), (False, True), (False, False)])
def test_bf16_on_the_cpu_is_asked_of_torch_where_there_is_no_proc_cpuinfo(
    monkeypatch, tmp_path, avx512_bf16, amx
):
    """Windows and macOS have no /proc/cpuinfo: a Zen 4 or Sapphire Rapids CPU there would
    have been taken for one that emulates bf16, and given the lighter encoder."""
    monkeypatch.setattr(torch.cpu, "_is_avx512_bf16_supported", lambda: avx512_bf16)
    monkeypatch.setattr(torch.cpu, "_is_amx_tile_supported", lambda: amx)
    monkeypatch.setattr("inkloop.model.Path", lambda _: tmp_path / "no-cpuinfo")
    assert cpu_has_bf16.__wrapped__() is (avx512_bf16 or amx)
