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

from inkloop._sheet_noise import cracks, fibres, ink_grain, papyrus_mask, smooth_noise

AIR_LEVEL = 6000.0
SHEET_LEVEL = 30000.0
INK_CONTRAST = 0.09  # ink density over papyrus density ~0.55: faint, as in real scans
BAND_PIXELS = 1 << 20  # a band of rows rendered at once: its temporaries take ~70 MB


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
    Memory does not grow with ``layers`` (they go to disk one at a time, each rendered in bands
    of rows), but the sheet's 2D fields are held whole: the peak is about 51 bytes a pixel of one
    layer (1.4 GB for 4000 x 7000, about 31 GB for 20000 x 30000).
    ``ink_contrast`` above the default makes ink easier to see (quick smoke tests).
    ``ink_depth`` (layers from the sheet's centre; negative is towards layer 0) puts the ink
    on one face of the sheet, as on a real recto: then the stack has a right way round.
    """
    from inkloop.io import label_paths, truth_path, write_layer, write_png
    from inkloop.io._label_images import PAINTED
    from inkloop.io._sidefiles import mask_path, segment_named

    out = Path(out_dir).expanduser()
    check_new_folder(out, name)
    name = name or out.name
    fields = SheetFields(height, width, layers, seed, ink_contrast, ink_depth)
    digits = max(2, len(str(layers - 1)))
    for index in range(layers):
        z = layers - 1 - index if reverse else index
        path = out / "layers" / f"{index:0{digits}d}.tif"
        write_layer(path, fields.layer(z, dtype), compression=compression, durable=False)
    segment = segment_named(name, out)  # not synced to the disk: a seed makes it again
    write_png(mask_path(segment), fields.mask.astype(np.uint8) * 255, durable=False)
    truth = label_paths(segment)[0] if truth_as_labels else truth_path(out, name)
    own = PAINTED if truth_as_labels else None  # labels inkloop wrote: saved into in place
    write_png(truth, (fields.ink > 0.5).astype(np.uint8) * 255, own, durable=False)
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
        if min(height, width) < 32 or layers < 4:
            raise ValueError("a synthetic segment needs at least 32 x 32 pixels and 4 layers")
        self.shape = (height, width)
        self.layers = layers
        self.seed = seed
        self.ink_contrast, self.ink_depth = ink_contrast, ink_depth
        rng = np.random.default_rng(seed)
        self.surface = layers / 2 + 0.06 * layers * smooth_noise(rng, self.shape, 384)
        self.half_thickness = 0.22 * layers
        self.ink_width = max(0.8, 0.025 * layers)
        self.brightness = 1 + 0.15 * smooth_noise(rng, self.shape, 512)
        self.fibres_h = [fibres(rng, self.shape, (0.8, 12)) for _ in range(2)]
        self.fibres_v = [fibres(rng, self.shape, (12, 0.8)) for _ in range(2)]
        self.cracks = cracks(rng, self.shape)
        self.ink_grain = ink_grain(rng, self.shape)
        self.mask = papyrus_mask(rng, self.shape)
        self.ink = render_glyphs(rng, self.shape)
        self.ink *= self.mask

    def layer(self, z: int, dtype: str = "uint16") -> np.ndarray:
        """Render layer ``z`` (0 = top) as uint16, or uint8 (scaled to 0..255, rounded).

        It is rendered in bands of rows (`row_bands`), so its float temporaries stay a band's size.
        """
        if np.dtype(dtype) not in (np.uint8, np.uint16):
            raise ValueError(f"synthetic layers are uint16 or uint8, not {dtype}")
        out = np.empty(self.shape, dtype)
        # Drawn band after band, top to bottom: the same numbers as one draw of the whole layer.
        noise = np.random.default_rng([self.seed, z])
        for rows in row_bands(*self.shape):
            out[rows] = self._layer_rows(z, rows, noise, np.dtype(dtype))
        return out

    def _layer_rows(
        self, z: int, rows: slice, noise: np.random.Generator, dtype: np.dtype
    ) -> np.ndarray:
        depth = (z - self.surface[rows]).astype(np.float32)
        inside = _sigmoid(self.half_thickness - np.abs(depth), 0.8) * self.mask[rows]
        recto = _sigmoid(-depth, 1.5)
        turn = 0.15 * z
        h0, h1 = (field[rows] for field in self.fibres_h)
        v0, v1 = (field[rows] for field in self.fibres_v)
        fibre_h = np.cos(turn) * h0 + np.sin(turn) * h1
        fibre_v = np.cos(turn) * v0 + np.sin(turn) * v1
        texture = recto * fibre_h + (1 - recto) * fibre_v
        density = (0.55 + 0.1 * texture) * (1 - 0.3 * self.cracks[rows]) * self.brightness[rows]
        ink_band = np.exp(-0.5 * ((depth - self.ink_depth) / self.ink_width) ** 2)
        density += self.ink_contrast * self.ink[rows] * self.ink_grain[rows] * ink_band
        values = AIR_LEVEL + (SHEET_LEVEL / 0.55) * inside * density
        values += 1800 * noise.standard_normal(depth.shape, np.float32)
        values = np.clip(values, 0, 65535)
        if dtype == np.uint8:
            return np.round(values / 257).astype(np.uint8)
        return values.astype(np.uint16)


def row_bands(height: int, width: int):
    """Slices of rows, each about `BAND_PIXELS` pixels, that cover ``height`` rows."""
    step = max(1, BAND_PIXELS // width)
    for top in range(0, height, step):
        yield slice(top, min(top + step, height))


def render_glyphs(rng: np.random.Generator, shape: tuple[int, int], size: int = 40) -> np.ndarray:
    """Soft ink map (0..1) of Greek-like glyphs set in lines and columns of text."""
    from scipy import ndimage
    from skimage.draw import line

    height, width = shape
    glyph = np.zeros(shape, np.uint32)  # which glyph's stroke a pixel is on: 1, 2, ... (0: none)
    strength, radius = [0.0], [0.0]  # of each glyph
    for top, left in _glyph_positions(rng, shape, size):
        strength.append(rng.uniform(0.6, 1.0))
        radius.append(rng.uniform(0.07, 0.11) * size)
        for (y0, x0), (y1, x1) in _glyph_segments(rng, size):
            rr, cc = line(int(top + y0), int(left + x0), int(top + y1), int(left + x1))
            keep = (rr >= 0) & (rr < height) & (cc >= 0) & (cc < width)
            glyph[rr[keep], cc[keep]] = len(strength) - 1
    if not glyph.any():
        return np.zeros(shape, np.float32)
    strength, radius = np.array(strength, np.float32), np.array(radius, np.float32)
    # Only the nearest stroke pixels are found for the whole image (2 int32 a pixel); the
    # distances to them are worked out band by band, in float64 as scipy's own.
    nearest = ndimage.distance_transform_edt(
        glyph == 0, return_distances=False, return_indices=True
    )
    ink = np.empty(shape, np.float32)
    for rows in row_bands(height, width):
        iy, ix = nearest[0, rows], nearest[1, rows]
        dy = (iy - np.arange(rows.start, rows.stop)[:, None]).astype(np.float64)
        dx = (ix - np.arange(width)).astype(np.float64)
        nearest_glyph = glyph[iy, ix]
        coverage = np.clip(radius[nearest_glyph] + 0.5 - np.sqrt(dy * dy + dx * dx), 0, 1)
        ink[rows] = coverage * strength[nearest_glyph]
    return ink


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


def _sigmoid(x: np.ndarray, softness: float) -> np.ndarray:
    return 1 / (1 + np.exp(-x / softness))
