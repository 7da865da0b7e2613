"""Model input channels from a segment: z-window, reversal, layer means and differences,
resolution and intensity scaling.

A `Composition` says which layers the model sees and how they are combined; `Normalisation`
maps raw intensities to 0..1 from percentiles sampled inside the papyrus (windows read by
`inkloop._image_windows`). Patches are read lazily (`read_patches`) and combined on the
training or inference device (`compose_channels`), after the z-augmentations that need the
raw layers.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace

import numpy as np

from inkloop._image_windows import papyrus_corners, read_block, read_blocks, sampled_pixels
from inkloop._notify import notify

MODES = ("raw", "mean", "diff", "raw+diff")
SCALES = (1, 2, 4)
DEFAULT_Z_COUNT = 16
MIN_Z_COUNT = 2  # a model reads at least two layers
# layers the z-jitter augmentation shifts the window each way by default; a default window
# leaves at least this many on each side of a stack of 7 layers or more (`default_z_count`)
Z_MARGIN = 2


@dataclass(frozen=True)
class Composition:
    """Which layers the model reads and how they become channels.

    ``z_start=None`` centres the window on the middle layer; ``z_count=None`` takes
    ``default_z_count`` layers. ``reverse`` flips the stack before the window is taken.
    Modes: ``raw`` layers, ``mean`` of ``mean_k`` consecutive layers, ``diff`` =
    |L[i+1] - L[i]|, and ``raw+diff``. ``scale`` is image pixels per model pixel:
    the model sees ``scale`` x ``scale`` means (2 = half resolution, as the community often
    trains: ink strokes are tens of pixels wide, so a CPU learns from 4x more papyrus per
    second) and its output is upsampled back to image pixels.
    """

    mode: str = "raw"
    z_start: int | None = None
    z_count: int | None = None
    mean_k: int = 3
    reverse: bool = False
    scale: int = 1  # 2 learns more from real CT per second, not from synthetic: docs/quality.md

    def __post_init__(self) -> None:
        if self.mode not in MODES:
            raise ValueError(f"unknown composition {self.mode!r}; choose one of {', '.join(MODES)}")
        if self.z_count is not None and self.z_count < MIN_Z_COUNT:
            raise ValueError(f"the z-window needs at least {MIN_Z_COUNT} layers")
        if self.mean_k < 1:
            raise ValueError("means need at least 1 layer each")
        if self.scale not in SCALES:
            raise ValueError(f"scale {self.scale} is not one of {', '.join(map(str, SCALES))}")
        if self.mode == "mean" and self.z_count is not None and self.z_count % self.mean_k:
            raise ValueError(
                f"a z-window of {self.z_count} layers does not split into means of "
                f"{self.mean_k}; choose a count that is a multiple of {self.mean_k}"
            )

    def resolve(self, n_layers: int) -> Composition:
        """This composition with a concrete window that fits a stack of ``n_layers``."""
        if n_layers < MIN_Z_COUNT:
            raise ValueError(
                f"the segment has {n_layers} layer{'s' * (n_layers != 1)} and a model reads at "
                f"least {MIN_Z_COUNT}: open the segment's whole layer stack"
            )
        count = self.z_count or default_z_count(n_layers)
        if self.mode == "mean" and self.z_count is None:
            if count < self.mean_k:
                raise ValueError(self._means_do_not_fit(count, n_layers))
            count -= count % self.mean_k
        if count > n_layers:
            raise ValueError(f"a z-window of {count} layers does not fit in {n_layers} layers")
        start = (n_layers - count) // 2 if self.z_start is None else self.z_start
        if not 0 <= start <= n_layers - count:
            raise ValueError(
                f"z-window {start}..{start + count - 1} is outside layers 0..{n_layers - 1}"
            )
        return replace(self, z_start=start, z_count=count)

    @property
    def in_channels(self) -> int:
        """Number of model input channels (needs a resolved window)."""
        count = self._count()
        return {
            "raw": count,
            "mean": count // self.mean_k,
            "diff": count - 1,
            "raw+diff": 2 * count - 1,
        }[self.mode]

    def layer_indices(self, n_layers: int, margin: int = 0) -> np.ndarray:
        """Volume indices of the window's layers, ``margin`` extra on each side (edge-clamped)."""
        positions = np.arange(self.z_start - margin, self.z_start + self._count() + margin)
        positions = np.clip(positions, 0, n_layers - 1)
        return n_layers - 1 - positions if self.reverse else positions

    def z_room(self, n_layers: int, margin: int) -> tuple[int, int]:
        """Real layers within ``margin`` before and after the window, in its order: where
        fewer than ``margin``, `layer_indices` repeats the edge layer to fill the rest."""
        after = n_layers - self.z_start - self._count()
        return min(margin, self.z_start), min(margin, after)

    def file_layers(self, segment) -> tuple[int, ...]:
        """The file numbers of the layers this (resolved) window reads from ``segment``, in
        the window's order; () where the segment does not number its layers."""
        numbers, n_layers = segment.layer_numbers, segment.shape[0]
        if len(numbers) != n_layers:
            return ()
        return tuple(int(numbers[i]) for i in self.layer_indices(n_layers))

    def to_dict(self) -> dict:
        return asdict(self)

    def _means_do_not_fit(self, count: int, n_layers: int) -> str:
        """Why the default window of ``count`` layers holds no whole mean, and what to do."""
        deeper = f", or a z_count (--z-count) of {self.mean_k}" if self.mean_k <= n_layers else ""
        return (
            f"means of {self.mean_k} layers (mean_k, --mean-k) do not fit in the default "
            f"z-window of {count} layers of this {n_layers}-layer stack: choose a mean_k of "
            f"at most {count}{deeper}"
        )

    def _count(self) -> int:
        if self.z_start is None or self.z_count is None:
            raise ValueError("resolve the composition against a segment first")
        return self.z_count


def default_z_count(n_layers: int) -> int:
    """``DEFAULT_Z_COUNT`` layers; on a shallower stack all but 4 on each side, and at least
    half of it (2 of a stack shallower than 4), so that from 7 layers up the z-jitter
    (``Z_MARGIN``) reads real layers. On the 13-layer real crop the middle 6 learned more than
    the middle 8 or 9, and those more than all 13 (docs/quality.md, "The z-window")."""
    return min(DEFAULT_Z_COUNT, max(n_layers - 8, n_layers // 2, min(n_layers, 2)))


@dataclass(frozen=True)
class Normalisation:
    """Linear map of raw intensities ``low..high`` to 0..1 (clipped); NaN, a float layer's
    "no data", reads as 0, the darkest value."""

    low: float
    high: float
    percentiles: tuple[float, float] = (1.0, 99.0)

    def apply(self, values: np.ndarray) -> np.ndarray:
        scale = 1.0 / max(self.high - self.low, 1e-6)
        out = (values.astype(np.float32) - np.float32(self.low)) * np.float32(scale)
        np.fmax(out, 0.0, out=out)  # fmax and fmin, not clip: NaN becomes 0, not NaN
        return np.fmin(out, 1.0, out=out)

    def to_dict(self) -> dict:
        return {"low": self.low, "high": self.high, "percentiles": list(self.percentiles)}

    @classmethod
    def from_dict(cls, data: dict) -> Normalisation:
        return cls(float(data["low"]), float(data["high"]), tuple(data["percentiles"]))


def sample_normalisation(
    segment,
    composition: Composition,
    *,
    percentiles: tuple[float, float] = (1.0, 99.0),
    windows: int = 12,
    size: int = 256,
    seed: int = 0,
    mask: np.ndarray | None = None,
) -> Normalisation:
    """Percentile range of the window's layers over a few random patches inside the papyrus.

    Reads ``windows`` patches of ``size``² (never the whole stack), so it costs the same on
    a 100 MB and a 20 GB segment; the fixed seed makes it repeatable. Pass ``mask`` if the
    segment's papyrus mask is already in memory (decoding a large PNG costs about a second).
    """
    rng = np.random.default_rng(seed)
    layers = composition.layer_indices(segment.shape[0])[:: max(1, composition.z_count // 4)]
    if mask is None and segment.mask is not None:
        mask = np.asarray(segment.mask)
    samples = []
    for y, x in papyrus_corners(segment.shape[1:], mask, rng, windows, size):
        block = read_block(segment, layers, y, x, size)
        samples.append(block[:, sampled_pixels(segment.shape[1:], mask, y, x, size)])
    values = _values_to_scale(segment, layers, samples)
    if values.size == 0:
        raise ValueError(f"{segment.name}: no papyrus pixels to normalise from (empty mask?)")
    low, high = np.percentile(values, percentiles)
    width = _narrowest_range(segment.dtype, float(low), float(high))
    return Normalisation(float(low), float(max(high, low + width)), tuple(percentiles))


def _values_to_scale(segment, layers, samples: list[np.ndarray]) -> np.ndarray:
    """The sampled values (each window's: layers x pixels) that set the percentiles: not NaN
    (said once), nor of a layer blank where sampled (one value: its 0s would pull the low
    percentile down and squeeze every other layer's contrast), each said once, by name."""
    rows = list(np.concatenate(samples, axis=1)) if samples else []
    if segment.dtype.kind == "f" and not all(np.isfinite(row).all() for row in rows):
        notify(f"{segment.name}: NaN (no data) pixels in its layers read as the darkest value")
        rows = [row[np.isfinite(row)] for row in rows]
    blank = [row.size == 0 or row.min() == row.max() for row in rows]
    if all(blank):  # nothing better to scale by
        return np.concatenate(rows) if rows else np.empty(0)
    for index, row, empty in zip(layers, rows, blank, strict=True):
        if empty:
            value = f"all {row[0]:g}" if row.size else "all NaN"
            notify(
                f"{segment.name}: {_layer_name(segment, int(index))} is blank ({value}) where "
                "sampled: left out of the intensity scaling; choose a z-window without it"
            )
    return np.concatenate([row for row, empty in zip(rows, blank, strict=True) if not empty])


def _layer_name(segment, index: int) -> str:
    """Layer ``index`` of ``segment`` in words, with its file number where that differs."""
    numbers = segment.layer_numbers
    if len(numbers) == segment.shape[0] and numbers[index] != index:
        return f"layer {index} (file {numbers[index]})"
    return f"layer {index}"


def _narrowest_range(dtype, low: float, high: float) -> float:
    """How narrow a normalisation range may be: one grey level of an integer volume, and a
    tiny fraction of the values of a float one (stored 0..1, one grey level is its whole
    range)."""
    if np.issubdtype(dtype, np.integer):
        return 1.0
    return 1e-6 * max(abs(low), abs(high), 1.0)


def read_patches(
    segment,
    composition: Composition,
    normalisation: Normalisation,
    corners,
    size: int,
    margin: int = 0,
) -> np.ndarray:
    """Normalised float32 (N, Z, size / scale, size / scale) patches of the windows (+
    ``margin`` layers each side) whose image pixels start at ``corners`` [(y, x), ...] and
    span ``size``. A patch may reach past the image edge; those pixels are 0.

    The raw blocks are read in one call and normalised in one pass: per patch, the calls (and
    the GIL they hold) would take as long as the reads of small training patches.
    """
    layers = composition.layer_indices(segment.shape[0], margin)
    blocks = read_blocks(segment, layers, corners, size)
    # after the means: scale² times fewer pixels to map
    return normalisation.apply(downscale(blocks, composition.scale))


def downscale(image: np.ndarray, scale: int) -> np.ndarray:
    """Means (float32) of ``scale`` x ``scale`` pixels over the last two axes, which it must
    divide. Strided adds rather than a reshaped mean: 10x faster for 2 x 2 (measured)."""
    if scale == 1:
        return image
    *_, height, width = image.shape
    if height % scale or width % scale:
        raise ValueError(f"{height} x {width} pixels do not split into {scale} x {scale} blocks")
    rows = image[..., 0::scale, :].astype(np.float32)
    for offset in range(1, scale):
        rows += image[..., offset::scale, :]
    means = rows[..., 0::scale].copy()
    for offset in range(1, scale):
        means += rows[..., offset::scale]
    means *= np.float32(1 / scale**2)
    return means


def compose_channels(layers, composition: Composition):
    """Combine a torch tensor of raw layers (..., Z, H, W) into model channels (..., C, H, W)."""
    import torch

    if composition.mode == "raw":
        return layers
    diffs = (layers[..., 1:, :, :] - layers[..., :-1, :, :]).abs()
    if composition.mode == "diff":
        return diffs
    if composition.mode == "raw+diff":
        return torch.cat([layers, diffs], dim=-3)
    grouped = layers.unflatten(-3, (-1, composition.mean_k))
    return grouped.mean(dim=-3)
