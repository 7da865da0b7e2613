"""Tiled inference: overlapping tiles blended with a Gaussian window, papyrus only."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from inkloop.compose import Composition, Normalisation, compose_channels, read_layers
from inkloop.model import autocast


def tile_starts(start: int, stop: int, tile: int, stride: int) -> list[int]:
    """Tile origins covering [start, stop): evenly strided, the last one flush with ``stop``."""
    if stop - start <= tile:
        return [start]
    starts = list(range(start, stop - tile, stride))
    return [*starts, stop - tile]


def blend_window(tile: int) -> np.ndarray:
    """Gaussian weights (sigma = tile / 4), never zero, so every covered pixel gets a value."""
    axis = np.arange(tile, dtype=np.float32) - (tile - 1) / 2
    weights = np.exp(-0.5 * (axis / (tile / 4)) ** 2)
    return np.maximum(np.outer(weights, weights), 1e-3).astype(np.float32)


def predict_region(
    model,
    segment,
    composition: Composition,
    normalisation: Normalisation,
    region: tuple[int, int, int, int],
    *,
    mask: np.ndarray | None = None,
    tile: int = 384,
    overlap: int = 96,
    batch_size: int = 4,
    should_stop: Callable[[], bool] | None = None,
) -> np.ndarray | None:
    """Ink probability (float32, region-sized) for ``region`` = (y0, x0, y1, x1).

    ``mask`` is the whole papyrus mask (H x W bool, or None for everywhere): tiles without
    papyrus are skipped and the result is 0 off papyrus. The model runs on the device its
    weights are on. Returns None if ``should_stop()`` turns true between batches.
    """
    import torch

    y0, x0, y1, x1 = region
    window = blend_window(tile)
    total = np.zeros((y1 - y0, x1 - x0), np.float32)
    weights = np.zeros_like(total)
    corners = [
        (y, x)
        for y in tile_starts(y0, y1, tile, tile - overlap)
        for x in tile_starts(x0, x1, tile, tile - overlap)
        if mask is None or mask[max(y, 0) : y + tile, max(x, 0) : x + tile].any()
    ]
    device = next(model.parameters()).device
    was_training = model.training
    model.eval()
    try:
        for first in range(0, len(corners), batch_size):
            if should_stop is not None and should_stop():
                return None
            batch = corners[first : first + batch_size]
            tiles = np.stack(
                [read_layers(segment, composition, normalisation, y, x, tile) for y, x in batch]
            )
            probability = _forward(model, torch.from_numpy(tiles).to(device), composition)
            for (y, x), tile_probability in zip(batch, probability, strict=True):
                _accumulate(total, weights, tile_probability * window, window, y - y0, x - x0)
    finally:
        model.train(was_training)
    np.divide(total, weights, out=total, where=weights > 0)
    if mask is not None:
        total *= mask[y0:y1, x0:x1]
    return total


def _forward(model, layers, composition: Composition) -> np.ndarray:
    import torch

    # channels_last is faster on CPUs too (0.53 s vs 0.75 s for a 1024² viewport, 2 cores)
    channels = compose_channels(layers, composition).contiguous(memory_format=torch.channels_last)
    with torch.inference_mode(), autocast(layers.device):
        logits = model(channels)[:, 0]
    return torch.sigmoid(logits.float()).cpu().numpy()


def _accumulate(total, weights, values, window, top: int, left: int) -> None:
    """Add a tile (placed at ``top, left`` relative to the region) clipped to the region."""
    height, width = total.shape
    size = window.shape[0]
    ty0, tx0 = max(-top, 0), max(-left, 0)
    ty1, tx1 = min(size, height - top), min(size, width - left)
    rows = slice(top + ty0, top + ty1)
    cols = slice(left + tx0, left + tx1)
    total[rows, cols] += values[ty0:ty1, tx0:tx1]
    weights[rows, cols] += window[ty0:ty1, tx0:tx1]
