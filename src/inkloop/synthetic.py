"""Synthetic scroll segments with a known ink map, for the sample data, tests and benchmarks.

A segment is a stack of ``Z`` layers through a papyrus sheet whose surface undulates in depth.
The sheet carries horizontal (recto) and vertical (verso) fibres, cracks, a slow brightness drift
and per-layer noise. Ink is a faint, grainy density bump a few layers thick around the surface,
so no single layer shows it clearly: a model has to combine layers to find it.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from pathlib import Path

import numpy as np

AIR_LEVEL = 6000.0
SHEET_LEVEL = 30000.0
INK_CONTRAST = 0.09  # ink density over papyrus density ~0.55: faint, as in real scans


@dataclass(frozen=True)
class SyntheticSegment:
    """A synthetic segment held in memory."""

    volume: np.ndarray  # (Z, H, W) uint16
    ink: np.ndarray  # (H, W) float32, true ink strength 0..1
    mask: np.ndarray  # (H, W) bool, papyrus


def make_segment(
    height: int,
    width: int,
    layers: int,
    seed: int = 0,
    *,
    reverse: bool = False,
    dtype: str = "uint16",
    ink_contrast: float = INK_CONTRAST,
    ink_depth: float = 0.0,
) -> SyntheticSegment:
    """Make a whole synthetic segment in memory (small sizes: tests, demos)."""
    fields = SheetFields(height, width, layers, seed, ink_contrast, ink_depth)
    order = range(layers - 1, -1, -1) if reverse else range(layers)
    volume = np.stack([fields.layer(z, dtype) for z in order])
    return SyntheticSegment(volume=volume, ink=fields.ink, mask=fields.mask)


def write_segment(
    out_dir: str | Path,
    height: int,
    width: int,
    layers: int,
    seed: int = 0,
    *,
    name: str | None = None,
    reverse: bool = False,
    dtype: str = "uint16",
    compression: str | None = None,
    ink_contrast: float = INK_CONTRAST,
    ink_depth: float = 0.0,
    truth_as_labels: bool = True,
) -> Path:
    """Write a synthetic segment in the Vesuvius folder layout, one layer at a time.

    ``out_dir/layers/NN.tif`` (uint16 or uint8), ``out_dir/<name>_mask.png`` and the true ink
    as ``out_dir/<name>_inklabels.png`` (the segment's labels), or with ``truth_as_labels=False``
    as ``<name>_truth.png``, which no label loader takes for labels (`inkloop.io.truth_path`).
    ``name`` is the folder's name (the default: a segment opens as its folder's name, so
    another is refused). ``out_dir`` must be new or empty (`check_new_folder`).
    Memory stays at a few 2D fields, so segments larger than RAM can be made.
    ``ink_contrast`` above the default makes ink easier to see (quick smoke tests).
    ``ink_depth`` (layers from the sheet's centre; negative is towards layer 0) puts the ink
    on one face of the sheet, as on a real recto: then the stack has a right way round.
    """
    from inkloop.io import label_paths, truth_path, write_layer, write_png
    from inkloop.io._sidefiles import mask_path, segment_named

    out = Path(out_dir).expanduser()
    check_new_folder(out, name)
    name = name or out.name
    fields = SheetFields(height, width, layers, seed, ink_contrast, ink_depth)
    digits = max(2, len(str(layers - 1)))
    for index in range(layers):
        z = layers - 1 - index if reverse else index
        path = out / "layers" / f"{index:0{digits}d}.tif"
        write_layer(path, fields.layer(z, dtype), compression=compression)
    segment = segment_named(name, out)
    write_png(mask_path(segment), fields.mask.astype(np.uint8) * 255)
    truth = label_paths(segment)[0] if truth_as_labels else truth_path(out, name)
    write_png(truth, (fields.ink > 0.5).astype(np.uint8) * 255)
    return out


def check_new_folder(out: Path, name: str | None = None) -> None:
    """ValueError if ``out`` is a file or a folder that is not empty: two segments' layers
    and labels must never mix (an empty folder, or none, is fine); or if ``name`` is not the
    folder's: inkloop opens a segment folder as its name, and files named for another id
    in it as a renamed folder's, not this segment's."""
    if name and name != out.name:
        raise ValueError(
            f"{out}: a segment's id is its folder's name, so it would open as {out.name}, not "
            f"{name}: to name it {name}, write it to {out.parent / name}"
        )
    if out.exists() and not out.is_dir():
        raise ValueError(f"{out}: is a file; a synthetic segment needs a new folder")
    if out.is_dir() and any(out.iterdir()):
        raise ValueError(f"{out}: folder is not empty; a synthetic segment needs a new one")


class SheetFields:
    """The 2D fields of one synthetic sheet; ``layer(z)`` renders any layer from them."""

    def __init__(
        self,
        height: int,
        width: int,
        layers: int,
        seed: int,
        ink_contrast: float = INK_CONTRAST,
        ink_depth: float = 0.0,
    ) -> None:
        from scipy import ndimage

        if min(height, width) < 32 or layers < 4:
            raise ValueError("a synthetic segment needs at least 32 x 32 pixels and 4 layers")
        self.shape = (height, width)
        self.layers = layers
        self.seed = seed
        self.ink_contrast, self.ink_depth = ink_contrast, ink_depth
        rng = np.random.default_rng(seed)
        self.surface = layers / 2 + 0.06 * layers * _smooth_noise(rng, self.shape, 384)
        self.half_thickness = 0.22 * layers
        self.ink_width = max(0.8, 0.025 * layers)
        self.brightness = 1 + 0.15 * _smooth_noise(rng, self.shape, 512)
        self.fibres_h = [_fibres(rng, self.shape, (0.8, 12)) for _ in range(2)]
        self.fibres_v = [_fibres(rng, self.shape, (12, 0.8)) for _ in range(2)]
        network = _unit(ndimage.gaussian_filter(rng.standard_normal(self.shape, np.float32), 4))
        self.cracks = np.exp(-((network / 0.08) ** 2)).astype(np.float32)
        grain = ndimage.gaussian_filter(rng.standard_normal(self.shape, np.float32), 1.2)
        self.ink_grain = np.clip(0.7 + 1.2 * _unit(grain) * 0.25, 0.2, 1.0).astype(np.float32)
        self.mask = _papyrus_mask(rng, self.shape)
        self.ink = render_glyphs(rng, self.shape) * self.mask

    def layer(self, z: int, dtype: str = "uint16") -> np.ndarray:
        """Render layer ``z`` (0 = top) as uint16, or uint8 (scaled to 0..255, rounded)."""
        depth = (z - self.surface).astype(np.float32)
        inside = _sigmoid(self.half_thickness - np.abs(depth), 0.8) * self.mask
        recto = _sigmoid(-depth, 1.5)
        turn = 0.15 * z
        fibre_h = np.cos(turn) * self.fibres_h[0] + np.sin(turn) * self.fibres_h[1]
        fibre_v = np.cos(turn) * self.fibres_v[0] + np.sin(turn) * self.fibres_v[1]
        texture = recto * fibre_h + (1 - recto) * fibre_v
        density = (0.55 + 0.1 * texture) * (1 - 0.3 * self.cracks) * self.brightness
        band = np.exp(-0.5 * ((depth - self.ink_depth) / self.ink_width) ** 2)
        density += self.ink_contrast * self.ink * self.ink_grain * band
        noise = np.random.default_rng([self.seed, z]).standard_normal(self.shape, np.float32)
        values = AIR_LEVEL + (SHEET_LEVEL / 0.55) * inside * density + 1800 * noise
        values = np.clip(values, 0, 65535)
        if np.dtype(dtype) == np.uint8:
            return np.round(values / 257).astype(np.uint8)
        if np.dtype(dtype) != np.uint16:
            raise ValueError(f"synthetic layers are uint16 or uint8, not {dtype}")
        return values.astype(np.uint16)


def render_glyphs(rng: np.random.Generator, shape: tuple[int, int], size: int = 40) -> np.ndarray:
    """Soft ink map (0..1) of Greek-like glyphs set in lines and columns of text."""
    from scipy import ndimage
    from skimage.draw import line

    height, width = shape
    skeleton = np.zeros(shape, bool)
    strength = np.zeros(shape, np.float32)
    radius = np.zeros(shape, np.float32)
    for top, left in _glyph_positions(rng, shape, size):
        glyph_strength = rng.uniform(0.6, 1.0)
        glyph_radius = rng.uniform(0.07, 0.11) * size
        for (y0, x0), (y1, x1) in _glyph_segments(rng, size):
            rr, cc = line(int(top + y0), int(left + x0), int(top + y1), int(left + x1))
            keep = (rr >= 0) & (rr < height) & (cc >= 0) & (cc < width)
            rr, cc = rr[keep], cc[keep]
            skeleton[rr, cc] = True
            strength[rr, cc] = glyph_strength
            radius[rr, cc] = glyph_radius
    if not skeleton.any():
        return np.zeros(shape, np.float32)
    distance, (iy, ix) = ndimage.distance_transform_edt(~skeleton, return_indices=True)
    coverage = np.clip(radius[iy, ix] + 0.5 - distance, 0, 1)
    return (coverage * strength[iy, ix]).astype(np.float32)


def _glyph_positions(rng: np.random.Generator, shape: tuple[int, int], size: int):
    """Top-left corners of glyphs: columns of text lines with word gaps."""
    height, width = shape
    column_width = 14 * size
    for column_left in range(size // 2, width - size, column_width + 2 * size):
        for top in range(size // 2, height - size, int(1.7 * size)):
            left = column_left
            while left < min(column_left + column_width, width - size):
                if rng.random() < 0.82:
                    yield top + rng.integers(-3, 4), left
                left += int(size * rng.uniform(0.9, 1.3))


def _glyph_segments(rng: np.random.Generator, size: int):
    """Line segments (in glyph coordinates) of one random glyph: strokes, arcs or a ring."""
    points = []
    for _ in range(rng.integers(1, 4)):
        kind = rng.choice(3, p=[0.5, 0.35, 0.15])
        if kind == 0:  # straight stroke
            points.append(rng.uniform(0.1, 0.9, (2, 2)) * size)
        else:  # arc (kind 1) or full ring (kind 2)
            centre = rng.uniform(0.35, 0.65, 2) * size
            r = rng.uniform(0.2, 0.35) * size
            start = rng.uniform(0, 2 * np.pi)
            sweep = 2 * np.pi if kind == 2 else rng.uniform(0.6, 1.6) * np.pi
            angles = start + np.linspace(0, sweep, 16)
            points.append(centre + r * np.stack([np.sin(angles), np.cos(angles)], axis=1))
    for stroke in points:
        yield from itertools.pairwise(stroke)


def _papyrus_mask(rng: np.random.Generator, shape: tuple[int, int]) -> np.ndarray:
    """A ragged papyrus region with a few elliptical holes."""
    height, width = shape
    yy = np.linspace(-1, 1, height, dtype=np.float32)[:, None]
    xx = np.linspace(-1, 1, width, dtype=np.float32)[None, :]
    edge = np.maximum(np.abs(yy), np.abs(xx)) + 0.06 * _smooth_noise(rng, shape, 64)
    mask = edge < 0.9
    for _ in range(max(2, height * width // 2048**2)):
        cy, cx = rng.uniform(-0.7, 0.7, 2)
        ry, rx = rng.uniform(0.02, 0.06, 2)
        mask &= ((yy - cy) / ry) ** 2 + ((xx - cx) / rx) ** 2 > 1
    return mask


def _fibres(rng: np.random.Generator, shape: tuple[int, int], sigma) -> np.ndarray:
    from scipy import ndimage

    return _unit(ndimage.gaussian_filter(rng.standard_normal(shape, np.float32), sigma))


def _smooth_noise(rng: np.random.Generator, shape: tuple[int, int], scale: int) -> np.ndarray:
    """Unit-variance noise smooth over ``scale`` pixels, made cheaply by upsampling."""
    from scipy import ndimage

    coarse_shape = tuple(max(2, -(-n // scale) + 1) for n in shape)
    coarse = rng.standard_normal(coarse_shape).astype(np.float32)
    zoom = [n / c for n, c in zip(shape, coarse_shape, strict=False)]
    fine = ndimage.zoom(coarse, zoom, order=3)[: shape[0], : shape[1]]
    return _unit(fine)


def _unit(field: np.ndarray) -> np.ndarray:
    return ((field - field.mean()) / (field.std() + 1e-12)).astype(np.float32)


def _sigmoid(x: np.ndarray, softness: float) -> np.ndarray:
    return 1 / (1 + np.exp(-x / softness))
