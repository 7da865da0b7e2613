"""A UNet whose decoder stops at a coarser stride, its logits upsampled bilinearly.

Ink strokes are tens of pixels wide and the labels a user paints are coarser still, so a
logit per pixel buys nothing a logit per 4 x 4 pixels, interpolated, does not; the scroll
community's Grand Prize models predict a value per 16 x 16. The blocks a coarser output
leaves out are the decoder's last, at full and half resolution: on two CPU cores they are a
fifth of a training step and about 40% of a 1024² viewport pass. On the real dev crop an
output at 1/4 raised the 300 s F0.5 of both folds (docs/quality.md, "A coarser output").
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional


class UpsampledHead(nn.Module):
    """A 3 x 3 convolution to one logit per pixel of the decoder's last map, upsampled
    bilinearly by ``factor`` to the input's resolution."""

    def __init__(self, channels: int, factor: int) -> None:
        super().__init__()
        self.conv = nn.Conv2d(channels, 1, 3, padding=1)
        self.factor = factor

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        return functional.interpolate(
            self.conv(features), scale_factor=self.factor, mode="bilinear"
        )


def coarsen_output(unet: nn.Module, config) -> nn.Module:
    """``unet``, an smp Unet built for ``config`` (a ModelConfig), with only its first
    ``config.decoder_blocks`` decoder blocks and an `UpsampledHead` on the last of them;
    unchanged at an output stride of 1.

    smp's UnetDecoder runs whatever its ``blocks`` hold, each to the next encoder stage's size
    (tests/test_model.py checks that it still does)."""
    if config.output_stride == 1:
        return unet
    kept = config.decoder_blocks
    unet.decoder.blocks = unet.decoder.blocks[:kept]
    unet.segmentation_head = UpsampledHead(config.decoder_channels[kept - 1], config.output_stride)
    return unet
