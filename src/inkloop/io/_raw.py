"""Windowed reads of uncompressed image data with pread.

A memory map would be simpler, but every page it touches stays in the process's resident set,
so random training patches over a 9 GB segment grow RSS to gigabytes; pread copies only the
window and leaves the pages to the OS page cache.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np


class RawArray:
    """Read-only 2D or 3D array-like over C-ordered, uncompressed bytes at ``offset`` in a file."""

    def __init__(self, path: Path, offset: int, shape: tuple[int, ...], dtype: np.dtype) -> None:
        self.path = path
        self.offset = offset
        self.shape = tuple(int(n) for n in shape)
        self.dtype = np.dtype(dtype).newbyteorder("=")
        self._file_dtype = np.dtype(dtype)
        self.ndim = len(self.shape)

    def __getitem__(self, key) -> np.ndarray:
        key = key if isinstance(key, tuple) else (key,)
        key = (*key, *(slice(None),) * (self.ndim - len(key)))
        squeeze = tuple(i for i, k in enumerate(key) if not isinstance(k, slice))
        ranges = [_as_range(k, n) for k, n in zip(key, self.shape, strict=True)]
        *outer, rows, cols = ranges
        if cols.step != 1 or rows.step != 1:
            raise IndexError("RawArray reads windows: rows and columns take step 1")
        out = np.empty((*map(len, outer), len(rows), len(cols)), self._file_dtype)
        fd = os.open(self.path, os.O_RDONLY)
        try:
            for index, plane in zip(np.ndindex(out.shape[:-2]), _planes(outer), strict=True):
                self._read_plane(fd, plane, rows, cols, out[index])
        finally:
            os.close(fd)
        return out.astype(self.dtype, copy=False).squeeze(axis=squeeze)

    def _read_plane(self, fd: int, plane: int, rows: range, cols: range, out: np.ndarray) -> None:
        height, width = self.shape[-2:]
        item = self._file_dtype.itemsize
        base = self.offset + plane * height * width * item
        buffer = memoryview(out).cast("B")
        if len(cols) == width:  # whole rows are one contiguous run
            _pread_exact(fd, buffer, base + rows.start * width * item, self.path)
            return
        run = len(cols) * item
        for row_index, row in enumerate(rows):
            start = base + (row * width + cols.start) * item
            _pread_exact(fd, buffer[row_index * run : (row_index + 1) * run], start, self.path)


def _planes(outer: list[range]):
    """Flat plane numbers for every index of the leading (Z) axis; one plane for 2D arrays."""
    return iter(outer[0]) if outer else iter([0])


def _as_range(key, size: int) -> range:
    if isinstance(key, slice):
        return range(*key.indices(size))
    index = range(size)[key]  # IndexError out of range, negatives wrap
    return range(index, index + 1)


def _pread_exact(fd: int, buffer: memoryview, offset: int, path: Path) -> None:
    if os.preadv(fd, [buffer], offset) != len(buffer):
        raise OSError(f"{path}: file ends before its image data (truncated?)")
