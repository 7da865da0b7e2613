"""Windowed reads of uncompressed image data.

A memory map of the whole file, kept for good, would be simplest, but every page it touches
stays in the process's resident set, so random training patches over a 9 GB segment would grow
RSS to gigabytes. So a file's map is kept only until its reads have spanned ``MAP_BUDGET``
bytes, then dropped (its pages stay in the OS page cache, not in the process) and made again
at the next read: a file's share of RSS stays under about that budget, and the system calls of
opening and mapping are paid once per many patches, not per patch. (A pread per row cost a
system call and a hand-over of the GIL per row, 93% of the training sampler's time; a map per
read made it 2.1x faster, and the kept map 2.3x faster again: one thread samples ~2200
patches of 16 x 64² a second on the 2-core VM, where it sampled ~940. A bigger budget buys
more speed for more RSS: over 16 MB, 32 MB raised the peak RSS of predicting a 16 x 8192²
segment by another ~100 MB; each map also holds one file descriptor.) Windows are copied
outside the file's lock, so a map past its budget is only let go of, and unmapped when the
last thread copying through it is done: for that moment a file may hold one more map.
Whole rows are one pread, and strided reads one per row, which touch no map at all.
"""

from __future__ import annotations

import math
import mmap
import os
import threading
from pathlib import Path

import numpy as np

# bytes a file's reads may span through its map before the map is dropped (bounds RSS per file)
MAP_BUDGET = 16 << 20


class RawArray:
    """Read-only 2D or 3D array-like over C-ordered, uncompressed bytes at ``offset`` in a file.
    Safe to read from several threads; pickles without its map."""

    def __init__(self, path: Path, offset: int, shape: tuple[int, ...], dtype: np.dtype) -> None:
        self.path = path
        self.offset = offset
        self.shape = tuple(int(n) for n in shape)
        self.dtype = np.dtype(dtype).newbyteorder("=")
        self._file_dtype = np.dtype(dtype)
        self.ndim = len(self.shape)
        self._lock = threading.Lock()
        self._map: mmap.mmap | None = None
        self._spanned = 0  # bytes spanned by reads through the current map

    def __getstate__(self) -> dict:
        return {**self.__dict__, "_lock": None, "_map": None, "_spanned": 0}

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state, _lock=threading.Lock())

    def __getitem__(self, key) -> np.ndarray:
        key = key if isinstance(key, tuple) else (key,)
        key = (*key, *(slice(None),) * (self.ndim - len(key)))
        squeeze = tuple(i for i, k in enumerate(key) if not isinstance(k, slice))
        ranges = [_as_range(k, n) for k, n in zip(key, self.shape, strict=True)]
        *outer, rows, cols = ranges
        if cols.step < 1 or rows.step < 1:
            raise IndexError("RawArray reads rows and columns forwards (steps of 1 or more)")
        counts = [len(r) for r in outer]
        out = np.empty((*counts, len(rows), len(cols)), self._file_dtype)
        flat = out.reshape(math.prod(counts), len(rows), len(cols))  # one plane after another
        strided = rows.step > 1 or cols.step > 1
        if len(rows) and len(cols) and (strided or len(cols) == self.shape[-1]):
            # whole rows are one contiguous run; strides read only the rows they keep
            with self._open() as file:
                size = os.fstat(file.fileno()).st_size
                for index, plane in enumerate(_planes(outer)):
                    if strided:
                        self._read_strided(file, size, plane, rows, cols, flat[index])
                    else:
                        self._read_rows(file, size, plane, rows, flat[index])
        elif len(rows) and len(cols):
            box = (rows.start, cols.start, rows.stop, cols.stop)
            self.windows(list(_planes(outer)), [box], [flat])
        return out.astype(self.dtype, copy=False).squeeze(axis=squeeze)

    def windows(self, planes, boxes, targets) -> None:
        """Copy each box (y0, x0, y1, x1) on the image, of every plane in ``planes`` (plane
        numbers of a 3D array, ``[0]`` for a 2D one), into its target (len(planes), y1 - y0,
        x1 - x0). The lean path of patches: one map and one slice per window, none of
        `__getitem__`'s index parsing, whose GIL time a training thread feeding a GPU waits
        for (a batch of 8 patches from 20 layers is 160 windows)."""
        pairs = [(box, out) for box, out in zip(boxes, targets, strict=True) if _pixels(box)]
        if not pairs:
            return
        height, width = self.shape[-2:]
        item = self._file_dtype.itemsize
        reach = max(box[2] for box, _ in pairs)  # the plane's rows any box reaches
        # a box past the image would read the next row's or plane's pixels through the view
        if (
            min(min(box[:2]) for box, _ in pairs) < 0
            or reach > height
            or any(box[3] > width for box, _ in pairs)
        ):
            raise IndexError(f"a window leaves the {height} x {width} image: {boxes}")
        spanned = item * sum((y1 - y0 - 1) * width + x1 - x0 for (y0, x0, y1, x1), _ in pairs)
        for index, plane in enumerate(planes):
            start = self.offset + plane * height * width * item
            mapped = self._map_for(start + reach * width * item, spanned)
            image = np.ndarray((reach, width), self._file_dtype, mapped, start)
            for (y0, x0, y1, x1), target in pairs:
                target[index] = image[y0:y1, x0:x1]

    def _open(self):
        """The file to read, opened unbuffered (each read opens it again: see the top), so
        its offset is this read's own where there is no pread (Windows)."""
        return open(self.path, "rb", buffering=0)

    def _read_rows(self, file, size: int, plane: int, rows: range, out) -> None:
        height, width = self.shape[-2:]
        row_bytes = width * self._file_dtype.itemsize
        start = self.offset + (plane * height + rows.start) * row_bytes
        self._pread(file, size, out, start)

    def _read_strided(self, file, size: int, plane: int, rows: range, cols: range, out):
        """Every ``rows.step``-th row, one pread each of the columns it spans, then every
        ``cols.step``-th pixel: a display pyramid's level (napari zoomed out) reads 1/step
        of the rows, where reading whole layers cost 0.55 s a z-step on an 8192² segment."""
        height, width = self.shape[-2:]
        item = self._file_dtype.itemsize
        span = np.empty(cols[-1] + 1 - cols.start, self._file_dtype)
        for target, row in zip(out, rows, strict=True):
            self._pread(
                file, size, span, self.offset + ((plane * height + row) * width + cols.start) * item
            )
            target[:] = span[:: cols.step]

    def _pread(self, file, size: int, out: np.ndarray, start: int) -> None:
        end = start + out.nbytes
        if end > size:
            raise self._truncated()
        view = memoryview(out).cast("B")
        if hasattr(os, "preadv"):
            read = os.preadv(file.fileno(), [view], start)
        else:  # Windows: no positioned reads, but this read opened the file for itself
            file.seek(start)
            read = file.readinto(view)
        if read != end - start:
            raise OSError(f"{self.path}: file changed while it was read")

    def _map_for(self, end: int, spanned: int) -> mmap.mmap:
        """The file's map to read up to ``end`` through, with ``spanned`` bytes counted against
        ``MAP_BUDGET``. The copies run outside the lock, so threads read one file at once; a
        map past its budget (or the file's end) is only let go of here, and unmapped when its
        last reader drops it. OSError, not a crash, if the file now ends before ``end``
        (touching a map past a file's end kills the process with SIGBUS)."""
        with self._lock:
            mapped = self._map
            if mapped is None or end > min(len(mapped), mapped.size()):
                with self._open() as file:
                    size = os.fstat(file.fileno()).st_size
                    if end > size:
                        self._map, self._spanned = None, 0
                        raise self._truncated()
                    mapped = mmap.mmap(file.fileno(), size, access=mmap.ACCESS_READ)
                self._map, self._spanned = mapped, 0
            self._spanned += spanned
            if self._spanned >= MAP_BUDGET:
                self._map, self._spanned = None, 0
        return mapped

    def _truncated(self) -> OSError:
        return OSError(f"{self.path}: file ends before its image data (truncated?)")


def _pixels(box) -> bool:
    """Whether the box (y0, x0, y1, x1) holds any pixel."""
    return box[2] > box[0] and box[3] > box[1]


def _planes(outer: list[range]):
    """Flat plane numbers for every index of the leading (Z) axis; one plane for 2D arrays."""
    return iter(outer[0]) if outer else iter([0])


def window_ranges(rows: slice, cols: slice, shape) -> tuple[range, range]:
    """The rows and columns of an image of ``shape`` (H, W) that unit-step slices select."""
    rows, cols = range(*rows.indices(shape[0])), range(*cols.indices(shape[1]))
    if rows.step != 1 or cols.step != 1:
        raise IndexError("windows take rows and columns in steps of 1")
    return rows, cols


def _as_range(key, size: int) -> range:
    """The indices an int or a slice ``key`` selects along an axis of ``size``."""
    if isinstance(key, slice):
        return range(*key.indices(size))
    index = range(size)[key]  # IndexError out of range, negatives wrap
    return range(index, index + 1)
