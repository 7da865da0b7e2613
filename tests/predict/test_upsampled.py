"""A convolution of a 2x nearest upsampling, computed at the input's resolution."""

from __future__ import annotations

import dataclasses

import pytest
import torch
from torch.nn import functional

from inkloop.model import build_model
from inkloop.predict import inference_graph
from inkloop.predict._upsampled import UpsampledConv
from tests._helpers import tiny_model


def _conv(in_channels: int, out_channels: int, bias: bool) -> torch.nn.Conv2d:
    torch.manual_seed(0)
    return torch.nn.Conv2d(in_channels, out_channels, 3, padding=1, bias=bias)


def _upsampled_then_convolved(conv, inputs):
    return conv(functional.interpolate(inputs, scale_factor=2, mode="nearest"))


@pytest.mark.parametrize("bias", [True, False], ids=["bias", "no-bias"])
@pytest.mark.parametrize("layout", [torch.contiguous_format, torch.channels_last])
def test_it_equals_the_convolution_of_the_upsampled_input(bias, layout):
    conv = _conv(5, 3, bias)
    inputs = torch.randn(2, 5, 7, 6).contiguous(memory_format=layout)  # odd sizes: the edges
    with torch.no_grad():
        got = UpsampledConv(conv)(inputs)
        torch.testing.assert_close(got, _upsampled_then_convolved(conv, inputs))
    assert got.is_contiguous(memory_format=torch.channels_last)


@pytest.mark.parametrize("layout", [torch.contiguous_format, torch.channels_last])
def test_it_adds_into_the_other_term_of_a_sum(layout):
    conv = _conv(4, 6, True)
    inputs, other = torch.randn(1, 4, 8, 8), torch.randn(1, 6, 16, 16)
    other = other.contiguous(memory_format=layout)
    expected = _upsampled_then_convolved(conv, inputs) + other
    with torch.no_grad():
        got = UpsampledConv(conv)(inputs, (16, 16), other)
    torch.testing.assert_close(got, expected)
    if layout is torch.channels_last:  # nothing else reads the sum's term: it takes the sum
        assert got.data_ptr() == other.data_ptr()


def test_a_term_of_another_dtype_is_summed_as_a_sum_would_promote_it():
    conv = _conv(2, 3, True)
    inputs, other = torch.randn(1, 2, 4, 4), torch.randn(1, 3, 8, 8, dtype=torch.float64)
    with torch.no_grad():
        got = UpsampledConv(conv)(inputs, (8, 8), other)
        expected = _upsampled_then_convolved(conv, inputs) + other
    assert got.dtype == torch.float64
    torch.testing.assert_close(got, expected, rtol=1e-5, atol=1e-5)  # float32 convolutions


def test_new_weights_give_the_new_convolution():
    conv, upsampled = _conv(3, 2, True), UpsampledConv(_conv(3, 2, True))
    with torch.no_grad():
        conv.weight.mul_(-2)
        conv.bias.add_(1)
        upsampled.set_weights(conv.weight, conv.bias)
        inputs = torch.randn(1, 3, 4, 5)
        torch.testing.assert_close(upsampled(inputs), _upsampled_then_convolved(conv, inputs))


def test_an_upsampling_other_than_2x_is_refused():
    with pytest.raises(ValueError, match="only 2x is folded"):
        UpsampledConv(_conv(2, 2, True))(torch.randn(1, 2, 8, 8), (24, 24))


@pytest.mark.parametrize("z_stem", [0, 4], ids=["unet", "z-stem"])
# at stride 1 the last block reads no skip; at 4 the only block kept reads one, and the
# head's bilinear upsampling of the logits stays an interpolation
@pytest.mark.parametrize(
    ("output_stride", "arguments", "interpolations"),
    [(1, [3, 3, 2], 0), (4, [3], 1)],
    ids=["full", "coarse"],
)
def test_every_decoder_block_of_a_unet_graph_convolves_before_upsampling(
    z_stem, output_stride, arguments, interpolations
):
    config = dataclasses.replace(
        tiny_model(), in_channels=6, z_stem=z_stem, output_stride=output_stride
    )
    graph = inference_graph(build_model(config))
    modules = dict(graph.named_modules())
    calls = [
        node
        for node in graph.graph.nodes
        if node.op == "call_module" and isinstance(modules[node.target], UpsampledConv)
    ]
    # a block with a skip adds its skip's half of the split sum into the upsampled one
    assert [len(node.args) for node in calls] == arguments
    calls = [n for n in graph.graph.nodes if n.target is functional.interpolate]
    assert len(calls) == interpolations
