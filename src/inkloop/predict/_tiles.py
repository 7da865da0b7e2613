"""Tile layout and blending: the region checked, where tiles go, in which order, how they
add up, and the flips and turns of test-time augmentation."""

from __future__ import annotations

import numpy as np

from inkloop.boxes import check_box


def tile_starts(start: int, stop: int, tile: int, stride: int) -> list[int]:
    """Tile origins covering [start, stop): evenly strided, the last one flush with ``stop``."""
    if stop - start <= tile:
        return [start]
    starts = list(range(start, stop - tile, stride))
    return [*starts, stop - tile]


def blend_window(tile: int, overlap: int) -> np.ndarray:
    """Tile weights: 1 inside, a cosine ramp to ~0 across the ``overlap`` band at each edge.

    Where two tiles overlap their weights cross-fade, so the blend is continuous (no seam)
    and each tile's borders, where the model sees the least context, count least. Weights
    never reach 0, so pixels covered by one tile only (at the image edge) still get a value.
    """
    ramp = np.ones(tile, np.float32)
    if overlap:
        rise = 0.5 - 0.5 * np.cos(np.pi * (np.arange(overlap) + 0.5) / overlap)
        ramp[:overlap] = rise
        ramp[tile - overlap :] = np.minimum(ramp[tile - overlap :], rise[::-1])
    return np.maximum(np.outer(ramp, ramp), 1e-3).astype(np.float32)


def tile_corners(region, shape, tile: int, overlap: int, mask=None) -> list[tuple[int, int]]:
    """Top-left corners of the tiles that touch ``region`` = (y0, x0, y1, x1), centre first.

    Tiles sit on one grid for the whole ``shape`` (H, W), so a pixel gets the same value
    whichever region or block it is predicted in. Tiles without papyrus (``mask``, indexed in
    image pixels) are left out. Ordered by distance from the region's centre, so the middle
    of a viewport appears first.
    """
    y0, x0, y1, x1 = region
    stride = tile - overlap
    rows = [y for y in tile_starts(0, shape[0], tile, stride) if y < y1 and y + tile > y0]
    cols = [x for x in tile_starts(0, shape[1], tile, stride) if x < x1 and x + tile > x0]
    corners = [
        (y, x) for y in rows for x in cols if mask is None or mask[y : y + tile, x : x + tile].any()
    ]
    centre_y, centre_x = (y0 + y1 - tile) / 2, (x0 + x1 - tile) / 2
    return sorted(corners, key=lambda c: (c[0] - centre_y) ** 2 + (c[1] - centre_x) ** 2)


class Blend:
    """Weighted sums of tile predictions over a region; ``result()`` is their blended average."""

    def __init__(self, region, tile: int, overlap: int) -> None:
        y0, x0, y1, x1 = region
        self.region = tuple(region)
        self.origin = (y0, x0)
        self.window = blend_window(tile, overlap)
        self.total = np.zeros((y1 - y0, x1 - x0), np.float32)
        self.weights = np.zeros_like(self.total)

    def add(self, y: int, x: int, probability: np.ndarray) -> tuple[int, int, int, int]:
        """Add one tile at image position (y, x); returns the region-relative box it touched."""
        height, width = self.total.shape
        size = self.window.shape[0]
        top, left = y - self.origin[0], x - self.origin[1]
        ty0, tx0 = max(-top, 0), max(-left, 0)
        ty1, tx1 = min(size, height - top), min(size, width - left)
        box = (top + ty0, left + tx0, top + ty1, left + tx1)
        window = self.window[ty0:ty1, tx0:tx1]
        self.total[box[0] : box[2], box[1] : box[3]] += probability[ty0:ty1, tx0:tx1] * window
        self.weights[box[0] : box[2], box[1] : box[3]] += window
        return box

    def add_sums(self, other: Blend) -> None:
        """Add another blend's sums where its region overlaps this one (overlap-add)."""
        y0, x0 = max(self.region[0], other.region[0]), max(self.region[1], other.region[1])
        y1, x1 = min(self.region[2], other.region[2]), min(self.region[3], other.region[3])
        if y0 >= y1 or x0 >= x1:
            return
        mine = np.s_[
            y0 - self.origin[0] : y1 - self.origin[0], x0 - self.origin[1] : x1 - self.origin[1]
        ]
        theirs = np.s_[
            y0 - other.origin[0] : y1 - other.origin[0], x0 - other.origin[1] : x1 - other.origin[1]
        ]
        self.total[mine] += other.total[theirs]
        self.weights[mine] += other.weights[theirs]

    def result(self, box=None) -> np.ndarray:
        """The blended probability (0 where no tile reached) over the region or a box of it."""
        y0, x0, y1, x1 = box or (0, 0, *self.total.shape)
        total, weights = self.total[y0:y1, x0:x1], self.weights[y0:y1, x0:x1]
        out = np.zeros_like(total)
        np.divide(total, weights, out=out, where=weights > 0)
        return out


def check_region(region, shape) -> tuple[int, int, int, int]:
    """``region`` = (y0, x0, y1, x1) as ints, or ValueError if it is empty or off the segment."""
    return check_box(region, shape, "region", "segment")


def dihedral_logits(model, inputs):
    """``model``'s mean logit (N, H, W) over the 8 dihedral transforms (flips x rot90) of
    ``inputs`` (N, C, H, W), each mapped back: test-time augmentation."""
    import torch

    total = None
    for flip in (False, True):
        flipped = inputs.flip(-1) if flip else inputs
        for turns in range(4):
            logits = model(torch.rot90(flipped, turns, dims=(-2, -1)))[:, 0].float()
            logits = torch.rot90(logits, -turns, dims=(-2, -1))
            logits = logits.flip(-1) if flip else logits
            total = logits if total is None else total + logits
    return total / 8
