"""An encoder that holds only the weights its output depends on.

smp builds every stage of an encoder whatever its ``encoder_depth`` and only skips the deeper
ones in ``forward``: a resnet18 at depth 4 keeps its layer4, two thirds of its weights, which
the optimiser, the weight average and every checkpoint would carry for nothing. On two CPU
cores at the default output stride, depth 4 makes a training step ~1.7x cheaper
(docs/quality.md, "A shallower encoder").

smp 0.6 runs mobilenet_v2's and efficientnet's deepest stage at depth 4 too (its loop stops
one stage late) and throws its output away. A module that is called is therefore no sign of
use: what counts is whether the features depend on its weights, which a backward pass tells.
Weights that get no gradient would also stop CUDA graphs from recording (`inkloop.train`).
timm's ``tu-`` encoders are built shallow already.
"""

from __future__ import annotations

import torch
from torch import nn


class Skipped(nn.Identity):
    """What stands in for a dropped module: its first input, whatever else its caller passes
    (efficientnet calls its blocks with a drop-connect rate). An ``nn.Identity``, which
    `inkloop.checkpoint` knows to hold no weights of older checkpoints."""

    def forward(self, input, *args, **kwargs):
        return input


def drop_unused_stages(encoder: nn.Module, in_channels: int, depth: int) -> None:
    """Replace each module of ``encoder`` whose weights none of its features at ``depth``
    depend on by a `Skipped`."""
    used = _weights_used(encoder, in_channels, depth)
    dropped: list[str] = []
    for name, module in encoder.named_modules():
        if not name or any(name.startswith(f"{outer}.") for outer in dropped):
            continue
        weights = [f"{name}.{weight}" for weight, _ in module.named_parameters()]
        if weights and not used.intersection(weights):
            dropped.append(name)
    for name in dropped:
        encoder.set_submodule(name, Skipped())


def _weights_used(encoder: nn.Module, in_channels: int, depth: int) -> set[str]:
    """The names of the weights that ``encoder``'s features get a gradient from."""
    side = 2 ** (depth + 2)  # 4 x 4 at the deepest stage: room for any kernel before it
    training = encoder.training
    # on copies, which get gradients whatever the caller's grad or inference mode
    with torch.inference_mode(False), torch.enable_grad():
        weights = {
            name: w.detach().clone().requires_grad_() for name, w in encoder.named_parameters()
        }
        buffers = {name: b.clone() for name, b in encoder.named_buffers()}
        try:  # in eval mode: no BatchNorm statistics change; gradients as in training
            features = torch.func.functional_call(
                encoder.eval(), (weights, buffers), torch.zeros(1, in_channels, side, side)
            )
        finally:
            encoder.train(training)
        total = sum(feature.sum() for feature in features if feature.requires_grad)
        gradients = torch.autograd.grad(total, list(weights.values()), allow_unused=True)
    return {name for name, gradient in zip(weights, gradients, strict=True) if gradient is not None}
