"""Where each convolution of an inference graph takes its weights from in the model, shared by
the graph's rewrites (`inkloop.predict._graph`, `inkloop.predict._upsampled`)."""

from __future__ import annotations

from typing import NamedTuple

# graph.meta key: {graph module: WeightSource} for each convolution the rewrites made, for
# `inkloop.predict.refresh_inference_graph`
SOURCES = "inkloop_weight_sources"


class WeightSource(NamedTuple):
    """Where a rewritten convolution's weights come from in the model."""

    conv: str  # the model's convolution
    norm: str | None  # the BatchNorm folded into it
    channels: tuple[int, int] | None  # the input channels it takes, if split
    bias: bool  # whether it takes the bias
    upsampled: bool = False  # an `UpsampledConv`
