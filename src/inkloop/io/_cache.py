"""Decoded blocks of compressed layer images, kept within a memory budget.

Training reads hundreds of small patches a minute. An uncompressed TIFF serves each one with a
few preads (and the OS page cache), but a compressed one decodes whole strips or tiles for
every read, and a PNG or JPEG layer decodes the whole image: measured on a zlib-compressed
Scroll 1 crop, a batch of 16 patches cost 1 s of decoding against a 1.5 s training step.
Here each decoded block is kept (least recently used first out), so a patch is decoded once.
"""

from __future__ import annotations

import threading
from collections import OrderedDict

import numpy as np

# decoded pixels kept per segment: the z-window of a few thousand pixels squared
DECODED_CACHE_BYTES = 1 << 30
BLOCK_ROWS, BLOCK_COLS = 512, 2048  # the unit kept; aligned to the file's own chunks


class DecodedBlocks:
    """An LRU of decoded blocks ``(layer, block row, block column) -> array``, thread-safe."""

    def __init__(self, budget: int = DECODED_CACHE_BYTES) -> None:
        self.budget = budget
        self.used = 0
        self._blocks: OrderedDict[tuple, np.ndarray] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: tuple, decode, *args) -> np.ndarray:
        """The block at ``key``, made by ``decode(*args)`` when it is not kept."""
        with self._lock:
            block = self._blocks.get(key)
            if block is not None:
                self._blocks.move_to_end(key)
                return block
        block = decode(*args)  # outside the lock: readers of other blocks go on meanwhile
        with self._lock:
            if key not in self._blocks:
                self._blocks[key] = block
                self.used += block.nbytes
            while self.used > self.budget and len(self._blocks) > 1:
                _, dropped = self._blocks.popitem(last=False)
                self.used -= dropped.nbytes
        return block


class CachedLayer:
    """A 2D array-like over ``reader`` (one layer) that decodes each block once."""

    def __init__(self, reader, layer: int, cache: DecodedBlocks) -> None:
        self.reader, self.layer, self.cache = reader, layer, cache
        self.shape, self.dtype, self.ndim = tuple(reader.shape), reader.dtype, 2
        self.block = _block_shape(reader)

    def __getitem__(self, key) -> np.ndarray:
        rows, cols = key if isinstance(key, tuple) else (key, slice(None))
        if not (_unit_slice(rows) and _unit_slice(cols)):
            return np.asarray(self.reader[key])  # pixels, rows or strides: not worth keeping
        (y0, y1, _), (x0, x1, _) = rows.indices(self.shape[0]), cols.indices(self.shape[1])
        out = np.empty((max(y1 - y0, 0), max(x1 - x0, 0)), self.dtype)
        height, width = self.block
        for by in range(y0 // height, -(-y1 // height)):
            for bx in range(x0 // width, -(-x1 // width)):
                block = self.cache.get((self.layer, by, bx), self._decode, by, bx)
                top, left = by * height, bx * width
                a0, a1 = max(y0, top), min(y1, top + block.shape[0])
                b0, b1 = max(x0, left), min(x1, left + block.shape[1])
                out[a0 - y0 : a1 - y0, b0 - x0 : b1 - x0] = block[
                    a0 - top : a1 - top, b0 - left : b1 - left
                ]
        return out

    def _decode(self, by: int, bx: int) -> np.ndarray:
        height, width = self.block
        rows, cols = slice(by * height, (by + 1) * height), slice(bx * width, (bx + 1) * width)
        return np.asarray(self.reader[rows, cols])


def _unit_slice(key) -> bool:
    return isinstance(key, slice) and key.step in (None, 1)


def _block_shape(reader) -> tuple[int, int]:
    """Whole multiples of the file's chunks (strips, tiles) near BLOCK_ROWS x BLOCK_COLS; the
    whole image for formats that decode only whole (no ``chunks``)."""
    chunks = getattr(reader, "chunks", None)
    if chunks is None:
        return tuple(reader.shape)
    return tuple(
        max(1, round(target / chunk)) * chunk
        for target, chunk in zip((BLOCK_ROWS, BLOCK_COLS), chunks, strict=True)
    )
