"""Batch augmentations in torch, on the training device, with labels moving with the images.

Order: z-window jitter, layer order jitter and stack reversal pick which raw layers each
sample sees; intensity changes act on those layers; the composition turns them into
channels; then flips/rot90 move channels, ink and weights together and coarse dropout
blanks parts of the input (labels stay: the model learns to fill gaps from context).
"""

from __future__ import annotations

import numpy as np

from inkloop.compose import Composition, compose_channels
from inkloop.settings import Augmentations


def augment_batch(layers, ink, weight, composition: Composition, aug: Augmentations, generator):
    """(B, Z + 2m, S, S) raw layers -> (B, C, S, S) model input, with ink and weight moved along.

    ``m`` = ``aug.z_jitter``; ``generator`` is a numpy Generator (parameters are drawn on the
    host, the pixel work runs where the tensors are).
    """
    import torch

    layers = _pick_layers(layers, composition.z_count, aug, generator)
    layers = _intensity(layers, aug, generator)
    channels = compose_channels(layers, composition)
    joint = torch.cat([channels, ink[:, None], weight[:, None].to(channels.dtype)], dim=1)
    joint = _flip_rotate(joint, aug, generator)
    channels, ink, weight = joint[:, :-2], joint[:, -2], joint[:, -1] > 0.5
    return _dropout(channels, aug, generator), ink, weight


def _pick_layers(layers, count: int, aug: Augmentations, rng: np.random.Generator):
    """Choose each sample's ``count`` layers out of the ``count + 2m`` read."""
    import torch

    batch, available = layers.shape[:2]
    margin = (available - count) // 2
    offsets = rng.integers(0, 2 * margin + 1, batch) if aug.z_jitter else np.full(batch, margin)
    index = offsets[:, None] + np.arange(count)[None, :]
    if aug.order_jitter:
        for row in index:
            _swap_neighbours(row, rng.random(count - 1) < aug.order_jitter)
    if aug.reversal:
        flip = rng.random(batch) < aug.reversal
        index[flip] = index[flip, ::-1]
    index = torch.as_tensor(index, device=layers.device)
    return layers[torch.arange(batch, device=layers.device)[:, None], index]


def _swap_neighbours(row: np.ndarray, swaps: np.ndarray) -> None:
    """Swap row[i] and row[i + 1] where ``swaps[i]``; a layer moves at most one place."""
    i = 0
    while i < len(swaps):
        if swaps[i]:
            row[i], row[i + 1] = row[i + 1], row[i]
            i += 1
        i += 1


def _intensity(layers, aug: Augmentations, rng: np.random.Generator):
    import torch
    from torchvision.transforms.v2.functional import gaussian_blur

    batch = layers.shape[0]

    def per_sample(values):
        values = torch.as_tensor(values, dtype=layers.dtype, device=layers.device)
        return values[:, None, None, None]

    if aug.brightness_contrast:
        strength = aug.brightness_contrast
        gain = per_sample(rng.uniform(1 - strength, 1 + strength, batch))
        offset = per_sample(rng.uniform(-strength / 2, strength / 2, batch))
        layers = layers * gain + offset
    if aug.blur:
        for i in np.flatnonzero(rng.random(batch) < aug.blur).tolist():
            sigma = float(rng.uniform(0.5, 1.5))
            layers[i] = gaussian_blur(layers[i], [5, 5], [sigma, sigma])
    noisy = np.flatnonzero(rng.random(batch) < 0.5) if aug.noise else []
    if len(noisy):  # random numbers are the dearest part on a CPU: only where they are used
        std = per_sample(rng.uniform(0, aug.noise, len(noisy)))
        index = torch.as_tensor(noisy, device=layers.device)
        # drawn from ``rng`` too, so that a seed repeats a run step for step
        generator = torch.Generator(layers.device).manual_seed(int(rng.integers(2**62)))
        shape, like = (len(noisy), *layers.shape[1:]), {"dtype": layers.dtype}
        noise = torch.randn(shape, generator=generator, device=layers.device, **like)
        layers = layers.index_add(0, index, noise * std)
    return layers


def _flip_rotate(joint, aug: Augmentations, rng: np.random.Generator):
    import torch

    batch = joint.shape[0]
    turns = rng.integers(0, 4, batch) if aug.rot90 else np.zeros(batch, int)
    flips = rng.random(batch) < 0.5 if aug.flips else np.zeros(batch, bool)
    return torch.stack(
        [
            torch.rot90(sample.flip(-1) if flip else sample, int(turn), dims=(-2, -1))
            for sample, turn, flip in zip(joint, turns.tolist(), flips.tolist(), strict=True)
        ]
    )


def _dropout(channels, aug: Augmentations, rng: np.random.Generator):
    if not aug.dropout:
        return channels
    batch, _, size, _ = channels.shape
    channels = channels.clone()
    for i in np.flatnonzero(rng.random(batch) < aug.dropout).tolist():
        for _ in range(int(rng.integers(1, 4))):
            h, w = rng.integers(size // 8, size // 4 + 1, 2).tolist()
            y, x = rng.integers(0, size - h + 1), rng.integers(0, size - w + 1)
            channels[i, :, y : y + h, x : x + w] = 0
    return channels
