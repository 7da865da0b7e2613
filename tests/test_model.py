"""The smp UNet: its z-stem, coarse output and depth, every weight trained, and its
checkpoints."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
import torch
import torchvision

from inkloop.checkpoint import Checkpoint, describe_checkpoint, load_checkpoint, save_checkpoint
from inkloop.compose import Composition, Normalisation
from inkloop.model import (
    build_model,
    model_for,
)
from inkloop.settings import LIGHT_ENCODERS, ModelConfig
from inkloop.zstem import ZStem, ZStemUnet

TINY = ModelConfig(encoder="tu-test_resnet", decoder_channels=(16, 8, 8), in_channels=5)


def _checkpoint(model, step=7) -> Checkpoint:
    return Checkpoint(
        model=TINY,
        composition=Composition("raw+diff", 2, 3, scale=2).resolve(8),
        normalisation=Normalisation(1000.0, 40000.0, (0.5, 99.5)),
        patch_size=64,
        step=step,
        state_dict=model.state_dict(),
        provenance={"segment": "20231012184423", "labels": {"ink_pixels": 12}},
        logit_offset=1.25,
        layers=(12, 13, 14),
    )


def test_checkpoint_round_trip_predicts_the_same(tmp_path):
    model = build_model(TINY).eval()
    path = save_checkpoint(tmp_path / "model.pt", _checkpoint(model))
    loaded = load_checkpoint(path)
    assert loaded.model == TINY
    assert loaded.composition == Composition("raw+diff", 2, 3, scale=2)
    assert loaded.normalisation == Normalisation(1000.0, 40000.0, (0.5, 99.5))
    assert (loaded.patch_size, loaded.step, loaded.logit_offset) == (64, 7, 1.25)
    assert loaded.layers == (12, 13, 14)
    assert loaded.provenance["labels"] == {"ink_pixels": 12}
    inputs = torch.randn(2, 5, 32, 32)
    with torch.inference_mode():
        torch.testing.assert_close(loaded.build()(inputs), model(inputs))
    assert [p.name for p in tmp_path.iterdir()] == ["model.pt"]  # no temporary files left


def test_building_a_checkpoints_model_leaves_the_callers_random_numbers_alone(tmp_path):
    path = save_checkpoint(tmp_path / "model.pt", _checkpoint(build_model(TINY)))
    checkpoint = load_checkpoint(path)
    torch.manual_seed(1234)
    expected = torch.rand(3)
    torch.manual_seed(1234)
    checkpoint.build()  # its initial weights, overwritten by the checkpoint's
    assert torch.equal(torch.rand(3), expected)


def test_checkpoints_from_before_scales_read_full_resolution(tmp_path):
    path = save_checkpoint(tmp_path / "model.pt", _checkpoint(build_model(TINY)))
    payload = torch.load(path, weights_only=True)
    del payload["composition"]["scale"], payload["logit_offset"]
    torch.save(payload, path)
    old = load_checkpoint(path)
    assert (old.composition.scale, old.logit_offset) == (1, 0.0)


def test_checkpoints_that_still_hold_a_dropped_stage_build_the_same_model(tmp_path):
    config = ModelConfig(encoder="resnet18", in_channels=3)  # four stages: layer4 is dropped
    model = build_model(config).eval()
    layer4 = torchvision.models.resnet18().layer4.state_dict()  # what smp's encoder held
    stale = {**model.state_dict(), **{f"encoder.layer4.{k}": v for k, v in layer4.items()}}
    old = dataclasses.replace(_checkpoint(model), model=config, state_dict=stale)
    inputs = torch.randn(1, 3, 64, 64)
    with torch.inference_mode():
        torch.testing.assert_close(old.build()(inputs), model(inputs))
    # `inkloop info` counts the weights the model trains, not the stale stage or BN statistics
    described = describe_checkpoint(save_checkpoint(tmp_path / "old.pt", old))
    assert described["model"]["parameters"] == sum(w.numel() for w in model.parameters())
    wrong = dataclasses.replace(old, state_dict={**stale, "decoder.extra.weight": torch.zeros(1)})
    with pytest.raises(RuntimeError, match=r"decoder\.extra\.weight"):
        wrong.build()


@pytest.mark.parametrize("depth", [4, 5])
@pytest.mark.parametrize("encoder", ["auto", *LIGHT_ENCODERS])
def test_every_weight_of_the_model_gets_a_gradient(encoder, depth):
    """An unused weight is carried for nothing, and stops CUDA graphs from recording."""
    config = ModelConfig(encoder, in_channels=3).with_depth(depth)
    model = build_model(config)
    model(torch.randn(2, 3, 2**depth, 2**depth)).sum().backward()
    assert [name for name, w in model.named_parameters() if w.grad is None] == []


@pytest.mark.parametrize("encoder", ["efficientnet-b0", "mobilenet_v2"])
def test_checkpoints_that_hold_a_stage_smp_runs_for_nothing_build_the_same_model(encoder):
    """smp 0.6 runs their fifth stage at depth 4 too, and throws its output away."""
    import segmentation_models_pytorch as smp

    from inkloop.coarse import coarsen_output

    config = ModelConfig(encoder, in_channels=3)
    kwargs = dict(encoder_depth=4, decoder_channels=list(config.decoder_channels))
    unet = smp.Unet(encoder, encoder_weights=None, in_channels=3, classes=1, **kwargs)
    everything = coarsen_output(unet, config).eval()  # all of smp's weights, as saved before
    old = dataclasses.replace(
        _checkpoint(everything), model=config, state_dict=everything.state_dict()
    )
    model = old.build()
    assert _parameters(model) < _parameters(everything)
    inputs = torch.randn(1, 3, 64, 64)
    with torch.inference_mode():
        torch.testing.assert_close(model(inputs), everything(inputs))


def test_saving_replaces_the_old_file_whole(tmp_path):
    model = build_model(TINY)
    path = save_checkpoint(tmp_path / "model.pt", _checkpoint(model, step=1))
    save_checkpoint(path, _checkpoint(model, step=2))
    assert load_checkpoint(path).step == 2
    assert len(list(tmp_path.iterdir())) == 1
    (tmp_path / "plain").mkdir()
    plain = tmp_path / "plain" / "file"
    plain.write_bytes(b"")
    assert path.stat().st_mode == plain.stat().st_mode  # as readable as any new file, not 0600


class _RunsCode:
    """What a crafted checkpoint holds: unpickling it would call print (os.system, in an attack)."""

    def __reduce__(self):
        return (print, ("code ran",))


def test_loading_something_else_says_so(tmp_path):
    with pytest.raises(FileNotFoundError, match="no such checkpoint"):
        load_checkpoint(tmp_path / "missing.pt")
    (tmp_path / "notes.pt").write_text("not a checkpoint")
    with pytest.raises(
        ValueError, match=r"notes\.pt: not a readable inkloop checkpoint \(not a Py"
    ):
        load_checkpoint(tmp_path / "notes.pt")
    torch.save({"model": Path("a")}, tmp_path / "pickled.pt")  # an object, not just tensors
    with pytest.raises(ValueError, match=r"pickled\.pt: .* \(it holds code or pickled objects"):
        load_checkpoint(tmp_path / "pickled.pt")
    torch.save(
        {"model": _RunsCode()}, tmp_path / "crafted.pt"
    )  # asks the loader to call a function
    with pytest.raises(ValueError, match=r"crafted\.pt: .* never runs: do not trust this file"):
        load_checkpoint(tmp_path / "crafted.pt")
    torch.save({"weights": torch.zeros(1)}, tmp_path / "other.pt")
    with pytest.raises(ValueError, match=r"other\.pt: not an inkloop checkpoint"):
        load_checkpoint(tmp_path / "other.pt")
    from inkloop.checkpoint import CHECKPOINT_FORMAT

    torch.save({"format": CHECKPOINT_FORMAT, "version": 1}, tmp_path / "cut.pt")
    with pytest.raises(ValueError, match=r"cut\.pt: a damaged inkloop checkpoint \(KeyError"):
        load_checkpoint(tmp_path / "cut.pt")  # one line, not a traceback


def test_the_z_stem_finds_a_pattern_at_any_depth():
    torch.manual_seed(0)
    stem = ZStem(width=4, run=3).eval()
    pattern = torch.randn(1, 3, 16, 16)
    shallow, deep = torch.zeros(1, 9, 16, 16), torch.zeros(1, 9, 16, 16)
    shallow[:, 2:5], deep[:, 4:7] = pattern, pattern
    with torch.inference_mode():
        torch.testing.assert_close(stem(shallow), stem(deep))
        assert not torch.equal(stem(shallow), stem(torch.zeros(1, 9, 16, 16)))
        assert stem(shallow).shape == (1, 8, 16, 16)  # the maximum and the mean of 4 features


def test_the_z_stem_hands_on_the_maximum_then_the_mean_of_each_runs_features():
    """The layout checkpoints hold: channels 0..w-1 the maximum over runs, w..2w-1 the mean."""
    torch.manual_seed(1)
    stem = ZStem(width=4, run=3).eval()
    layers = torch.randn(2, 7, 12, 12)
    with torch.inference_mode():
        runs = torch.stack([stem.body(layers[:, z : z + 3]) for z in range(5)], dim=1)
        expected = torch.cat([runs.amax(1), runs.mean(1)], dim=1)
        torch.testing.assert_close(stem(layers), expected)


def test_a_z_stem_model_round_trips_and_old_checkpoints_have_none(tmp_path):
    config = dataclasses.replace(TINY, z_stem=4)
    model = build_model(config).eval()
    path = save_checkpoint(
        tmp_path / "model.pt", dataclasses.replace(_checkpoint(model), model=config)
    )
    inputs = torch.randn(2, 5, 32, 32)
    with torch.inference_mode():
        assert model(inputs).shape == (2, 1, 32, 32)
        torch.testing.assert_close(load_checkpoint(path).build()(inputs), model(inputs))
    plain = save_checkpoint(tmp_path / "plain.pt", _checkpoint(build_model(TINY)))
    payload = torch.load(plain, weights_only=True)
    del payload["model"]["z_stem"]
    torch.save(payload, plain)
    assert load_checkpoint(plain).model.z_stem == 0


def test_a_coarse_output_leaves_out_the_last_decoder_blocks_and_upsamples_its_logits():
    config = ModelConfig(in_channels=6)
    assert (config.output_stride, config.decoder_blocks) == (4, 2)  # the default
    model = build_model(config).eval()
    full = build_model(dataclasses.replace(config, output_stride=1)).eval()
    assert len(model.decoder.blocks) == 2
    assert len(full.decoder.blocks) == 4
    coarse = []
    model.segmentation_head.conv.register_forward_hook(lambda *call: coarse.append(call[2]))
    with torch.inference_mode():
        logits = model(torch.randn(1, 6, 64, 96))
    assert coarse[0].shape == (1, 1, 16, 24)  # a logit per 4 x 4 pixels
    assert logits.shape == full(torch.randn(1, 6, 64, 96)).shape == (1, 1, 64, 96)
    expected = torch.nn.functional.interpolate(coarse[0], scale_factor=4, mode="bilinear")
    torch.testing.assert_close(logits, expected)
    assert _parameters(model) < _parameters(full)


def _parameters(model) -> int:
    return sum(parameter.numel() for parameter in model.parameters())


def test_a_coarse_model_round_trips_and_old_checkpoints_predict_at_full_resolution(tmp_path):
    assert TINY.output_stride == 4
    model = build_model(TINY).eval()
    path = save_checkpoint(tmp_path / "model.pt", _checkpoint(model))
    inputs = torch.randn(2, 5, 32, 32)
    with torch.inference_mode():
        torch.testing.assert_close(load_checkpoint(path).build()(inputs), model(inputs))
    full = dataclasses.replace(TINY, output_stride=1)
    old = _checkpoint(build_model(full))
    old = save_checkpoint(tmp_path / "old.pt", dataclasses.replace(old, model=full))
    payload = torch.load(old, weights_only=True)
    del payload["model"]["output_stride"]  # as written before the coarse output
    torch.save(payload, old)
    assert load_checkpoint(old).model == full
    assert len(load_checkpoint(old).build().decoder.blocks) == 3


def test_a_shallower_encoder_leaves_out_its_deepest_stage_and_that_stage_s_decoder_block():
    shallow = ModelConfig("resnet18", in_channels=6)  # smp builds all of its stages
    config = shallow.with_depth(5)  # as before 2026-12-05
    assert (config.encoder_depth, shallow.encoder_depth) == (5, 4)  # 4: the default
    assert shallow.decoder_channels == config.decoder_channels[1:]  # widths by resolution
    assert shallow.decoder_blocks == 2  # at 1/8 and 1/4, as the deeper one's last two
    assert shallow.with_depth(4) == shallow
    model, deep = build_model(shallow).eval(), build_model(config).eval()
    assert isinstance(model.encoder.layer4, torch.nn.Identity)
    inputs = torch.randn(1, 6, 64, 96)
    with torch.inference_mode():
        assert model(inputs).shape == deep(inputs).shape == (1, 1, 64, 96)
    assert _parameters(model) < _parameters(deep) / 3  # the deepest stage holds most weights
    with pytest.raises(ValueError, match="encoder depth is 1 to 5, not 6"):
        config.with_depth(6)
    with pytest.raises(ValueError, match=r"power of two below 2\^2 .*not 4"):
        config.with_depth(2)  # no decoder block would be left at an output stride of 4
    finest = config.with_depth(5, output_stride=16)  # 16 fits five stages only
    assert finest.with_depth(4, output_stride=8) == shallow.with_depth(4, output_stride=8)
    assert finest.with_depth(4, output_stride=8).output_stride == 8


@pytest.mark.parametrize("stride", [0, 3, 8])
def test_the_output_stride_is_a_power_of_two_that_keeps_a_decoder_block(stride):
    with pytest.raises(ValueError, match=f"power of two below 2\\^3 .*not {stride}"):
        dataclasses.replace(TINY, output_stride=stride)


def test_the_z_stem_needs_z_ordered_layers():
    stem = dataclasses.replace(TINY, z_stem=4)
    config, _ = model_for(Composition("raw", 0, 6).resolve(8), stem, None)
    assert (config.in_channels, config.z_stem) == (6, 4)
    config, model = model_for(Composition("raw+diff", 0, 3).resolve(8), stem, None)
    assert (config.in_channels, config.z_stem) == (5, 0)  # layers and differences mixed
    assert not isinstance(model, ZStemUnet)
    config, _ = model_for(Composition("raw", 0, 2).resolve(8), stem, None)
    assert config.z_stem == 0  # too few layers for one run
    with pytest.raises(ValueError, match="the z-stem reads runs of 3 layers; this model has 2"):
        ModelConfig(in_channels=2, z_stem=16)
