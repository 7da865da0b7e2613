"""Batch augmentations in torch, on the training device, with labels moving with the images.

Order: z-window jitter, layer order jitter and stack reversal pick which raw layers each
sample sees; intensity changes act on those layers; the composition turns them into
channels; then flips/rot90 move channels, ink and weights together and coarse dropout
blanks parts of the input (labels stay: the model learns to fill gaps from context).

Each augmentation is a few tensor operations for the whole batch, whatever its size: the
parameters are drawn per sample on the host, and turned into masks, indices and kernels there,
which reach a GPU without waiting for it (`inkloop._transfer`).
A GPU step waits on its kernel launches, not on these pixels (a loop per sample took four
times the operations for a batch of 32).
"""

from __future__ import annotations

import numpy as np

from inkloop._transfer import to_device
from inkloop.compose import Composition, compose_channels
from inkloop.settings import Augmentations


def augment_batch(
    layers, ink, weight, composition: Composition, aug: Augmentations, generator, room=None
):
    """(B, Z + 2m, S, S) raw layers -> (B, C, S, S) model input, with ink and weight moved along.

    ``m`` = ``aug.z_jitter``; ``generator`` is a numpy Generator (parameters are drawn on the
    host, the pixel work runs where the tensors are). ``room`` = the stack's real layers
    before and after the window (`Composition.z_room`; default ``m`` each): the z-jitter
    shifts the window no further, rather than onto repeats of the stack's edge layer.
    """
    import torch

    layers = _pick_layers(layers, composition.z_count, aug, generator, room)
    layers = _intensity(layers, aug, generator)
    channels = compose_channels(layers, composition)
    joint = torch.cat([channels, ink[:, None], weight[:, None].to(channels.dtype)], dim=1)
    joint = _flip_rotate(joint, aug, generator)
    channels, ink, weight = joint[:, :-2], joint[:, -2], joint[:, -1] > 0.5
    return _dropout(channels, aug, generator), ink, weight


def _pick_layers(layers, count: int, aug: Augmentations, rng: np.random.Generator, room):
    """Choose each sample's ``count`` layers out of the ``count + 2m`` read."""
    import torch

    batch, available = layers.shape[:2]
    margin = (available - count) // 2
    before, after = (margin, margin) if room is None else room
    if aug.z_jitter:
        offsets = rng.integers(margin - before, margin + after + 1, batch)
    else:
        offsets = np.full(batch, margin)
    index = offsets[:, None] + np.arange(count)[None, :]
    if aug.order_jitter:
        for row in index:
            _swap_neighbours(row, rng.random(count - 1) < aug.order_jitter)
    if aug.reversal:
        flip = rng.random(batch) < aug.reversal
        index[flip] = index[flip, ::-1]
    index = to_device(index, layers.device)
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

    batch = layers.shape[0]

    def per_sample(values):
        values = to_device(values, layers.device, layers.dtype)
        return values[:, None, None, None]

    if aug.brightness_contrast:
        strength = aug.brightness_contrast
        gain = per_sample(rng.uniform(1 - strength, 1 + strength, batch))
        offset = per_sample(rng.uniform(-strength / 2, strength / 2, batch))
        layers = layers * gain + offset
    if aug.blur:
        blurred = np.flatnonzero(rng.random(batch) < aug.blur)
        if len(blurred):
            sigmas = rng.uniform(0.5, 1.5, len(blurred))
            index = to_device(blurred, layers.device)
            # in place: ``layers`` is this function's own by now (`_pick_layers` gathers)
            layers.index_copy_(0, index, _blur(layers[index], sigmas))
    noisy = np.flatnonzero(rng.random(batch) < 0.5) if aug.noise else []
    if len(noisy):  # random numbers are the dearest part on a CPU: only where they are used
        std = per_sample(rng.uniform(0, aug.noise, len(noisy)))
        index = to_device(noisy, layers.device)
        # drawn from ``rng`` too, so that a seed repeats a run step for step
        generator = torch.Generator(layers.device).manual_seed(int(rng.integers(2**62)))
        shape, like = (len(noisy), *layers.shape[1:]), {"dtype": layers.dtype}
        noise = torch.randn(shape, generator=generator, device=layers.device, **like)
        layers = layers.index_add(0, index, noise * std)
    return layers


def _blur(layers, sigmas: np.ndarray):
    """Each sample of ``layers`` (N, Z, H, W) blurred by a 5 x 5 Gaussian of its own sigma,
    edges reflected (as torchvision's `gaussian_blur`, which takes one sigma per call)."""
    from torch.nn.functional import conv2d, pad

    count, depth, height, width = layers.shape
    offsets = np.arange(-2, 3)
    ramps = np.exp(-(offsets[None, :] ** 2) / (2 * sigmas[:, None] ** 2))
    ramps /= ramps.sum(axis=1, keepdims=True)
    kernels = np.repeat(ramps[:, :, None] * ramps[:, None, :], depth, axis=0)[:, None]
    weight = to_device(kernels, layers.device, layers.dtype)
    planes = pad(layers.reshape(1, count * depth, height, width), (2, 2, 2, 2), mode="reflect")
    return conv2d(planes, weight, groups=count * depth).reshape(layers.shape)


# rot90(flip(x) if flip else x, turns) as a transpose, then a flip of rows, then of columns
_DIHEDRAL = {  # (flip, turns): (transpose, flip rows, flip columns)
    (False, 0): (False, False, False),
    (False, 1): (True, True, False),
    (False, 2): (False, True, True),
    (False, 3): (True, False, True),
    (True, 0): (False, False, True),
    (True, 1): (True, False, False),
    (True, 2): (False, True, False),
    (True, 3): (True, True, True),
}


def _flip_rotate(joint, aug: Augmentations, rng: np.random.Generator):
    """Each sample flipped (left-right) and turned by its own draw, in three batch-wide steps:
    square patches make every orientation a transpose and two flips."""
    batch = joint.shape[0]
    turns = rng.integers(0, 4, batch) if aug.rot90 else np.zeros(batch, int)
    flips = rng.random(batch) < 0.5 if aug.flips else np.zeros(batch, bool)
    steps = np.array([_DIHEDRAL[pair] for pair in zip(flips.tolist(), turns.tolist(), strict=True)])
    moves = (lambda x: x.transpose(-2, -1), lambda x: x.flip(-2), lambda x: x.flip(-1))
    for chosen, move in zip(steps.T, moves, strict=True):
        if chosen.any():
            index = to_device(np.flatnonzero(chosen), joint.device)
            joint.index_copy_(0, index, move(joint[index]))  # in place: a `torch.cat` of ours
    return joint


def _dropout(channels, aug: Augmentations, rng: np.random.Generator):
    if not aug.dropout:
        return channels
    batch, _, size, _ = channels.shape
    chosen = np.flatnonzero(rng.random(batch) < aug.dropout)
    if not len(chosen):
        return channels
    blank = np.zeros((batch, 1, size, size), bool)
    for i in chosen.tolist():
        for _ in range(int(rng.integers(1, 4))):
            h, w = rng.integers(size // 8, size // 4 + 1, 2).tolist()
            y, x = rng.integers(0, size - h + 1), rng.integers(0, size - w + 1)
            blank[i, :, y : y + h, x : x + w] = True
    return channels.masked_fill(to_device(blank, channels.device), 0)
