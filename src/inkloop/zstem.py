"""The z-stem: the same small features on every run of a few consecutive layers, pooled over z.

On the real dev crop the two halves show ink at different depths (docs/quality.md, "A
z-invariant stem"). A UNet that reads each layer as a channel of its own learns ink at the
layers where the labelled part shows it and misses it where it sits deeper or shallower. The
stem computes its features with one set of weights on every run of ``run`` layers and hands the
UNet their maximum and mean over z, so ink seen at layer 4 in one place counts the same at
layer 7 in another.
"""

from __future__ import annotations

import torch
from torch import nn


class ZStem(nn.Module):
    """(N, Z, H, W) layers to (N, 2 width, H, W): the maximum and the mean over z of two 3 x 3
    convolutions (BatchNorm, ReLU) applied with shared weights to every run of ``run`` layers."""

    def __init__(self, width: int, run: int) -> None:
        super().__init__()
        self.width, self.run = width, run
        self.body = nn.Sequential(
            nn.Conv2d(run, width, 3, padding=1, bias=False),
            nn.BatchNorm2d(width),
            nn.ReLU(inplace=True),
            nn.Conv2d(width, width, 3, padding=1, bias=False),
            nn.BatchNorm2d(width),
            nn.ReLU(inplace=True),
        )

    def forward(self, layers: torch.Tensor) -> torch.Tensor:
        n, _, rows, cols = layers.shape
        runs = layers.unfold(1, self.run, 1)  # (N, runs, H, W, run)
        count = runs.shape[1]
        runs = runs.permute(0, 1, 4, 2, 3).reshape(n * count, self.run, rows, cols)
        # channels_last: the layout the UNet runs in on a GPU and when predicting
        features = self.body(runs.contiguous(memory_format=torch.channels_last))
        # pooled in the memory order channels_last gives (runs, H, W, width): over z that is
        # a reduction of whole contiguous slabs, where reducing the channels-first view
        # strode through memory (the pooling took about a third of the stem's time at 1024²)
        features = features.permute(0, 2, 3, 1).reshape(n, count, rows, cols, self.width)
        pooled = torch.cat([features.amax(1), features.mean(1)], -1)  # (N, H, W, 2 width)
        return pooled.permute(0, 3, 1, 2)  # channels_last (N, 2 width, H, W), no copy


class ZStemUnet(nn.Module):
    """A `ZStem` before an smp UNet that reads its ``2 width`` channels."""

    def __init__(self, stem: ZStem, unet: nn.Module) -> None:
        super().__init__()
        self.stem, self.unet = stem, unet

    def forward(self, layers: torch.Tensor) -> torch.Tensor:
        return self.unet(self.stem(layers).contiguous(memory_format=torch.channels_last))
