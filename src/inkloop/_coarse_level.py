"""The coarse pyramid level a per-layer profile reads: a segment at a URL costs a few MB, not
hundreds (a layer's mean intensity needs no full resolution)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from inkloop._image_windows import read_block, read_blocks

PROFILE_SIDE = 512  # a layer profile reads the coarsest level at least this many px across
READS_AT_ONCE = 16  # a profile's chunk reads in flight: a remote one waits on the network
READ_BYTES_AT_ONCE = 256 * 2**20  # ... and the most their chunks may hold together


def profile_level(segment, side: int = PROFILE_SIDE):
    """(level, factor): the coarsest of ``segment.levels`` with all its layers, at least
    ``side`` px on its shorter side and ``factor`` times smaller than the full level on both;
    ``segment`` itself (factor 1) where none is."""
    best = segment, 1
    for level in segment.levels[1:]:
        factor = _shrunk_by(level.shape, segment.shape)
        fits = level.shape[0] == segment.shape[0] and min(level.shape[1:]) >= side
        if fits and factor > best[1]:
            best = CoarseLevel(level), factor
    return best


def _shrunk_by(shape, full) -> int:
    """The integer factor a level of ``shape`` is smaller than the ``full`` one on both sides
    (each within a pixel of full / factor: pyramids round either way); 0 for none."""
    factor = round(full[1] / shape[1])
    sides = zip(full[1:], shape[1:], strict=True)
    return factor if factor > 1 and all(abs(f / factor - s) < 1 for f, s in sides) else 0


def level_blocks(level, corners, size: int):
    """The ``size``² blocks of all layers at ``corners``: the full level one at a time, a
    coarse one all at once (a chunk several blocks share is read once)."""
    layers = np.arange(level.shape[0])
    if isinstance(level, CoarseLevel):
        yield from read_blocks(level, layers, corners, size)
    else:
        for y, x in corners:
            yield read_block(level, layers, y, x, size)


@dataclass(frozen=True)
class CoarseLevel:
    """A coarse pyramid level (a lazy Z x H x W array), read as `read_blocks` reads a segment."""

    array: object

    @property
    def shape(self) -> tuple[int, int, int]:
        return tuple(int(n) for n in self.array.shape)

    @property
    def dtype(self) -> np.dtype:
        return self.array.dtype

    def read_into(self, layers, boxes, targets) -> None:
        import dask

        parts = [self.array[np.asarray(layers), y0:y1, x0:x1] for y0, x0, y1, x1 in boxes]
        parts = dask.compute(*parts, scheduler="threads", num_workers=reads_at_once(self.array))
        for target, part in zip(targets, parts, strict=True):
            target[...] = part


def reads_at_once(array) -> int:
    """How many of a lazy ``array``'s chunks a profile reads at once: `READS_AT_ONCE`, fewer
    where their bytes together would pass `READ_BYTES_AT_ONCE`."""
    chunk = int(np.prod(array.chunksize)) * array.dtype.itemsize
    return max(1, min(READS_AT_ONCE, READ_BYTES_AT_ONCE // chunk))
