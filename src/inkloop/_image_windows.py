"""Square windows of a segment's image: where to take them (on papyrus), which of their
pixels to sample, and reading them zero-padded past the image edge."""

from __future__ import annotations

import numpy as np


def read_blocks(segment, layers, corners, size: int) -> np.ndarray:
    """(N, Z, size, size): volume[layers, y:y+size, x:x+size] for each corner (y, x), zero
    outside the image; all windows in one `Segment.read_into`."""
    out = np.zeros((len(corners), len(layers), size, size), segment.dtype)
    boxes, targets = [], []
    for index, (y, x) in enumerate(corners):
        y0, x0, y1, x1 = _on_image(segment.shape[1:], y, x, size)
        if y1 > y0 and x1 > x0:
            boxes.append((y0, x0, y1, x1))
            targets.append(out[index, :, y0 - y : y1 - y, x0 - x : x1 - x])
    segment.read_into(layers, boxes, targets)
    return out


def read_block(segment, layers, y: int, x: int, size: int) -> np.ndarray:
    """Read volume[layers, y:y+size, x:x+size], zero outside the image."""
    return read_blocks(segment, layers, [(y, x)], size)[0]


def papyrus_corners(shape, mask, rng: np.random.Generator, count: int, size: int):
    """Top-left corners of ``count`` windows whose centre lies on papyrus (if there is a mask)."""
    height, width = shape
    if mask is None:
        ys = rng.integers(0, max(height - size, 0) + 1, count)
        xs = rng.integers(0, max(width - size, 0) + 1, count)
        return list(zip(ys.tolist(), xs.tolist(), strict=True))
    step = max(1, min(height, width) // 256)
    cy, cx = np.nonzero(mask[::step, ::step])
    if cy.size == 0:
        return []
    pick = rng.integers(0, cy.size, count).tolist()
    return [(int(cy[i]) * step - size // 2, int(cx[i]) * step - size // 2) for i in pick]


def sampled_pixels(shape, mask, y: int, x: int, size: int) -> np.ndarray:
    """Which pixels of the ``size``² window at (y, x) of an image of ``shape`` to sample: the
    papyrus if there is a mask, else those on the image, not the zero padding past its edge."""
    return padded_window(np.broadcast_to(np.True_, shape) if mask is None else mask, y, x, size)


def padded_window(image: np.ndarray, y: int, x: int, size: int) -> np.ndarray:
    """image[y:y+size, x:x+size], zero-padded where the window leaves the image."""
    out = np.zeros((size, size), image.dtype)
    y0, x0, y1, x1 = _on_image(image.shape, y, x, size)
    if y1 > y0 and x1 > x0:
        out[y0 - y : y1 - y, x0 - x : x1 - x] = image[y0:y1, x0:x1]
    return out


def _on_image(shape, y: int, x: int, size: int) -> tuple[int, int, int, int]:
    """(y0, x0, y1, x1): the part of the ``size``² window at (y, x) that lies on an image of
    ``shape``; empty (y1 <= y0 or x1 <= x0) for a window off the image."""
    height, width = shape
    return max(y, 0), max(x, 0), min(y + size, height), min(x + size, width)
