"""The random 2D fields a synthetic sheet is made of (`inkloop.synthetic.SheetFields`).

Each draws from ``rng`` in turn, so the order of calls fixes every field of a seed.
"""

from __future__ import annotations

import numpy as np


def papyrus_mask(rng: np.random.Generator, shape: tuple[int, int]) -> np.ndarray:
    """A ragged papyrus region with a few elliptical holes."""
    height, width = shape
    yy = np.linspace(-1, 1, height, dtype=np.float32)[:, None]
    xx = np.linspace(-1, 1, width, dtype=np.float32)[None, :]
    edge = np.maximum(np.abs(yy), np.abs(xx)) + 0.06 * smooth_noise(rng, shape, 64)
    mask = edge < 0.9
    for _ in range(max(2, height * width // 2048**2)):
        cy, cx = rng.uniform(-0.7, 0.7, 2)
        ry, rx = rng.uniform(0.02, 0.06, 2)
        mask &= ((yy - cy) / ry) ** 2 + ((xx - cx) / rx) ** 2 > 1
    return mask


def fibres(rng: np.random.Generator, shape: tuple[int, int], sigma) -> np.ndarray:
    """Unit-variance noise smoothed ``sigma`` (y, x): long along the axis of the larger sigma."""
    from scipy import ndimage

    return unit(ndimage.gaussian_filter(rng.standard_normal(shape, np.float32), sigma))


def cracks(rng: np.random.Generator, shape: tuple[int, int]) -> np.ndarray:
    """0..1, near 1 along a network of thin lines: where the papyrus is cracked."""
    from scipy import ndimage

    network = unit(ndimage.gaussian_filter(rng.standard_normal(shape, np.float32), 4))
    return np.exp(-((network / 0.08) ** 2)).astype(np.float32)


def ink_grain(rng: np.random.Generator, shape: tuple[int, int]) -> np.ndarray:
    """0.2..1: how densely the ink lies, grain by grain."""
    from scipy import ndimage

    grain = ndimage.gaussian_filter(rng.standard_normal(shape, np.float32), 1.2)
    return np.clip(0.7 + 1.2 * unit(grain) * 0.25, 0.2, 1.0).astype(np.float32)


def smooth_noise(rng: np.random.Generator, shape: tuple[int, int], scale: int) -> np.ndarray:
    """Unit-variance noise smooth over ``scale`` pixels, made cheaply by upsampling."""
    from scipy import ndimage

    coarse_shape = tuple(max(2, -(-n // scale) + 1) for n in shape)
    coarse = rng.standard_normal(coarse_shape).astype(np.float32)
    zoom = [n / c for n, c in zip(shape, coarse_shape, strict=False)]
    fine = ndimage.zoom(coarse, zoom, order=3)[: shape[0], : shape[1]]
    return unit(fine)


def unit(field: np.ndarray) -> np.ndarray:
    """``field`` shifted and scaled to mean 0 and standard deviation 1, as float32."""
    return ((field - field.mean()) / (field.std() + 1e-12)).astype(np.float32)
