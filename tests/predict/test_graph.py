"""Models made ready for predicting: BatchNorms folded, the same outputs, the original untouched."""

from __future__ import annotations

import dataclasses
import warnings

import pytest
import torch

from inkloop.checkpoint import Checkpoint
from inkloop.compose import Normalisation
from inkloop.io import open_segment
from inkloop.model import build_model
from inkloop.predict import Predictor, _graph, inference_graph, refresh_inference_graph
from inkloop.predict._upsampled import UpsampledConv
from inkloop.settings import LIGHT_ENCODERS, ModelConfig
from tests._helpers import FULL_RESOLUTION, batch_norms, tiny_model


def _concatenations_into_convolutions(model) -> int:
    """Channel concatenations that feed a convolution (through Identity modules)."""
    from torch.fx import symbolic_trace

    graph = model if isinstance(model, torch.fx.GraphModule) else symbolic_trace(model)
    modules = dict(graph.named_modules())
    count = 0
    for node in graph.graph.nodes:
        if node.op == "call_module" and isinstance(modules[node.target], torch.nn.Conv2d):
            source = node.args[0]
            while source.op == "call_module" and type(modules[source.target]) is torch.nn.Identity:
                source = source.args[0]
            count += source.target is torch.cat
    return count


def _batch_norms_after_convolutions(graph) -> int:
    """BatchNorms that read a Conv2d module's output: the ones folding takes away."""
    modules = dict(graph.named_modules())
    return sum(
        isinstance(modules.get(node.target), torch.nn.BatchNorm2d)
        and isinstance(modules.get(node.args[0].target), torch.nn.Conv2d)
        for node in graph.graph.nodes
        if node.op == "call_module" and node.args[0].op == "call_module"
    )


def _upsampled_convolutions(graph) -> int:
    return sum(isinstance(module, UpsampledConv) for module in graph.modules())


def _trained_statistics(model, channels: int):
    """``model`` after a few training-mode passes, so its BatchNorms hold statistics that
    differ from their initial 0 and 1 (folding those would test nothing)."""
    torch.manual_seed(0)
    for _ in range(3):
        model(3 * torch.rand(2, channels, 64, 64) + 1)
    return model


@pytest.mark.parametrize("z_stem", [0, 4], ids=["unet", "z-stem"])
# the tiny decoder's 3 blocks at stride 1, the last without a skip; 1 block at stride 4
@pytest.mark.parametrize(("output_stride", "skips"), [(1, 2), (4, 1)], ids=["full", "coarse"])
def test_a_folded_model_predicts_what_the_model_does_and_leaves_it_training(
    z_stem, output_stride, skips
):
    config = dataclasses.replace(
        tiny_model(), in_channels=6, z_stem=z_stem, output_stride=output_stride
    )
    model = _trained_statistics(build_model(config), 6)
    folded = inference_graph(model)

    assert batch_norms(folded) == 0
    assert _concatenations_into_convolutions(model) == skips
    assert _concatenations_into_convolutions(folded) == 0  # split into a sum of convolutions
    assert model.training  # the trainer's model goes on as it was
    assert batch_norms(model) > 0
    inputs = torch.rand(2, 6, 64, 96)
    with torch.inference_mode():
        torch.testing.assert_close(folded(inputs), model.eval()(inputs), rtol=1e-4, atol=1e-4)


def test_making_a_graph_draws_nothing_from_torchs_generator():
    config = dataclasses.replace(tiny_model(), in_channels=6)
    model = _trained_statistics(build_model(config), 6)
    state = torch.get_rng_state()
    graph = inference_graph(model)  # its split and upsampled convolutions take given weights
    assert _upsampled_convolutions(graph) > 0
    assert _concatenations_into_convolutions(graph) == 0
    assert torch.equal(torch.get_rng_state(), state)


@pytest.mark.parametrize("z_stem", [0, 4], ids=["unet", "z-stem"])
def test_a_refreshed_graph_predicts_what_the_trained_model_does(z_stem):
    config = dataclasses.replace(tiny_model(), in_channels=6, z_stem=z_stem)
    model = _trained_statistics(build_model(config), 6)
    graph = inference_graph(model)
    optimiser = torch.optim.AdamW(model.parameters(), lr=1e-2)
    for _ in range(3):  # new weights and new BatchNorm statistics
        optimiser.zero_grad()
        model(torch.rand(2, 6, 64, 64)).square().mean().backward()
        optimiser.step()
    inputs = torch.rand(2, 6, 64, 96)
    with torch.inference_mode():
        expected = model.eval()(inputs)
        assert not torch.allclose(graph(inputs), expected, rtol=1e-4, atol=1e-4)
        refresh_inference_graph(graph, model)
        torch.testing.assert_close(graph(inputs), expected, rtol=1e-4, atol=1e-4)


class Branching(torch.nn.Module):
    """A convolution and a BatchNorm behind a branch on the input's values: fx cannot trace it."""

    def __init__(self) -> None:
        super().__init__()
        self.conv, self.norm = torch.nn.Conv2d(2, 1, 3, padding=1), torch.nn.BatchNorm2d(1)

    def forward(self, inputs):
        inputs = inputs if inputs.sum() > 0 else -inputs
        return self.norm(self.conv(inputs))


def test_a_model_fx_cannot_trace_is_copied_unfolded_with_a_warning():
    model = _trained_statistics(Branching(), 2)
    with pytest.warns(RuntimeWarning, match="predicting without folded BatchNorms"):
        copied = inference_graph(model)
    assert copied is not model
    assert not copied.training
    assert model.training
    inputs = torch.rand(1, 2, 16, 16)
    with torch.inference_mode():
        torch.testing.assert_close(copied(inputs), model.eval()(inputs))
    with torch.no_grad():
        model.conv.weight.mul_(2)
    refresh_inference_graph(copied, model)  # the copy takes the new weights as they are
    with torch.inference_mode():
        torch.testing.assert_close(copied(inputs), model(inputs))


def test_a_predictor_from_a_checkpoint_holds_the_folded_model(training_folder, float32_cpu):
    segment = open_segment(training_folder)
    composition = FULL_RESOLUTION.resolve(segment.shape[0])
    config = dataclasses.replace(tiny_model(), in_channels=composition.in_channels)
    model = _trained_statistics(build_model(config), composition.in_channels).eval()
    checkpoint = Checkpoint(
        model=config,
        composition=composition,
        normalisation=Normalisation(1000.0, 40000.0),
        patch_size=32,
        step=3,
        state_dict=model.state_dict(),
    )
    predictor = Predictor.from_checkpoint(checkpoint, segment, device="cpu")
    assert batch_norms(predictor.model) == 0
    unfolded = Predictor(model, composition, predictor.normalisation)
    unfolded = unfolded.predict_region(segment, (0, 0, 64, 64))
    folded = predictor.predict_region(segment, (0, 0, 64, 64))
    torch.testing.assert_close(
        torch.from_numpy(folded), torch.from_numpy(unfolded), atol=1e-5, rtol=0
    )


# tu-convnext_atto: a stride-4 stem, so smp hands its decoder an empty skip at stride 2
@pytest.mark.parametrize("encoder", [*LIGHT_ENCODERS, "tu-convnext_atto"])
def test_every_offered_encoder_gets_every_rewrite_and_predicts_what_it_does(encoder):
    config = ModelConfig(encoder=encoder, in_channels=6)
    model = _trained_statistics(build_model(config), 6)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        graph = inference_graph(model)
    assert not [str(w.message) for w in caught if "predicting" in str(w.message)]
    # (fx traces through smp's efficientnet convolutions, which pad first, so they are
    # functions in the graph and the BatchNorms after them stay: slower, still exact)
    assert _batch_norms_after_convolutions(torch.fx.symbolic_trace(model)) > 0
    assert _batch_norms_after_convolutions(graph) == 0
    assert _concatenations_into_convolutions(graph) == 0
    assert _upsampled_convolutions(graph) == config.decoder_blocks == 2
    inputs = torch.rand(2, 6, 96, 128)
    with torch.inference_mode():
        expected = model.eval()(inputs)
        torch.testing.assert_close(graph(inputs), expected, rtol=1e-4, atol=1e-4)


def test_a_rewrite_that_predicts_otherwise_is_skipped_and_the_others_kept(monkeypatch):
    set_weights = UpsampledConv.set_weights

    def wrong_weights(self, weight, bias):  # a rewrite with a mistake in it
        set_weights(self, 2 * weight, bias)

    monkeypatch.setattr(UpsampledConv, "set_weights", wrong_weights)
    config = dataclasses.replace(tiny_model(), in_channels=6)
    model = _trained_statistics(build_model(config), 6)
    with pytest.warns(RuntimeWarning, match="predicting with upsamplings unfolded .*differ"):
        graph = inference_graph(model)
    assert _upsampled_convolutions(graph) == 0
    assert batch_norms(graph) == 0
    assert _concatenations_into_convolutions(graph) == 0
    inputs = torch.rand(1, 6, 64, 64)
    with torch.inference_mode():
        torch.testing.assert_close(graph(inputs), model.eval()(inputs), rtol=1e-4, atol=1e-4)


def test_a_rewrite_that_fails_is_skipped_with_its_reason_and_the_others_kept(monkeypatch):
    def failing(graph, sources, sample):
        raise RuntimeError("no such layer")

    monkeypatch.setattr(_graph, "_split_concatenations", failing)
    config = dataclasses.replace(tiny_model(), in_channels=6, output_stride=1)
    model = _trained_statistics(build_model(config), 6)
    with pytest.warns(RuntimeWarning, match=r"concatenations unsplit \(RuntimeError: no such"):
        graph = inference_graph(model)
    assert _concatenations_into_convolutions(graph) == 2  # 3 blocks, the last without a skip
    assert batch_norms(graph) == 0
    # the only upsampling a convolution reads directly: the last block's, which has no skip
    assert _upsampled_convolutions(graph) == 1
    with torch.no_grad():  # new weights, which what it kept still takes
        for parameter in model.parameters():
            parameter.mul_(1.1)
    refresh_inference_graph(graph, model)
    inputs = torch.rand(1, 6, 64, 64)
    with torch.inference_mode():
        torch.testing.assert_close(graph(inputs), model.eval()(inputs), rtol=1e-4, atol=1e-4)
