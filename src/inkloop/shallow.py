"""An encoder that holds only the modules it runs.

smp builds every stage of an encoder whatever its ``encoder_depth`` and only skips the deeper
ones in ``forward``: a resnet18 at depth 4 keeps its layer4, two thirds of its weights, which
the optimiser, the weight average and every checkpoint would carry for nothing. On two CPU
cores at the default output stride, depth 4 makes a training step ~1.7x cheaper
(docs/quality.md, "A shallower encoder").

Only the encoder's own children are dropped: a resnet's stages, efficientnet's unused head.
timm's ``tu-`` encoders are built shallow already. mobilenet_v2 and efficientnet keep their
stages in one container, and smp 0.6 runs their deepest stage at depth 4 too (its loop stops
one stage late), so they keep it.
"""

from __future__ import annotations

import torch
from torch import nn


def drop_unused_stages(encoder: nn.Module, in_channels: int, depth: int) -> None:
    """Replace each child of ``encoder`` that a forward pass at ``depth`` never calls by an
    ``nn.Identity``."""
    called: set[nn.Module] = set()
    hooks = [
        module.register_forward_hook(lambda module, *_: called.add(module))
        for module in encoder.modules()
    ]
    training = encoder.training
    side = 2 ** (depth + 2)  # 4 x 4 at the deepest stage: room for any kernel before it
    try:
        with torch.no_grad():
            encoder.eval()(torch.zeros(1, in_channels, side, side))
    finally:
        encoder.train(training)
        for hook in hooks:
            hook.remove()
    for name, child in list(encoder.named_children()):
        if not called.intersection(child.modules()) and next(child.parameters(), None) is not None:
            setattr(encoder, name, nn.Identity())
