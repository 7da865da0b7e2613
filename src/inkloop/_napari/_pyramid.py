"""What napari shows of a large segment or prediction: a pyramid of tiles, each read from the
files on its own, so that a view reads the tiles on screen of the coarsest level that fills it;
of a segment on a server, read as the view can wait for (`ViewedLevel`)."""

from __future__ import annotations

import threading
from urllib.parse import urlsplit

import numpy as np

from inkloop._napari._say import say_warning
from inkloop.io import SegmentError, _remote, is_url, shown_location
from inkloop.io._raw import _as_range

DISPLAY_LEVEL_MIN = 1024  # the pyramid halves the image down to about this size, in such tiles


def display_levels(segment) -> list:
    """The volume as napari shows it: a file's own pyramid; for a segment `DISPLAY_LEVEL_MIN`
    x 2 or more across, tiles of every 1st, 2nd, 4th, … row and pixel down to about
    `DISPLAY_LEVEL_MIN`; else the volume itself. A segment on a server's, each a
    `ViewedLevel`."""
    levels = _levels_shown(segment)
    if not is_url(segment.path):
        return levels
    outage = Outage(urlsplit(shown_location(segment.path)).netloc)
    return [ViewedLevel(level, outage) for level in levels]


def _levels_shown(segment) -> list:
    if len(segment.levels) > 1:
        return list(segment.levels)
    steps = display_steps(max(segment.shape[1:]))
    if segment.direct is None or len(steps) == 1:
        return [segment.volume]
    return [_tiles(segment, step) for step in steps]


def strided_levels(image) -> list:
    """A lazy 2D ``image`` (a prediction) as napari shows it: for one `DISPLAY_LEVEL_MIN` x 2
    or more across, every 1st, 2nd, 4th, … row and pixel of it down to about
    `DISPLAY_LEVEL_MIN`, so a view reads the tiles on screen of one level, not the whole
    image; else the image itself."""
    return [
        image[::step, ::step] if step > 1 else image for step in display_steps(max(image.shape))
    ]


def display_steps(largest: int) -> list[int]:
    """The strides of the display levels of an image ``largest`` pixels across: 1, 2, 4, …
    while the level is `DISPLAY_LEVEL_MIN` or more across (only 1 for a small image)."""
    steps = [1]
    while largest // (steps[-1] * 2) >= DISPLAY_LEVEL_MIN:
        steps.append(steps[-1] * 2)
    return steps


def _tiles(segment, step: int):
    import dask.array as da
    from dask.base import tokenize

    # not segment.volume[::step].rechunk(...): its chunks are whole layers, and dask reads a
    # whole layer for a view of several tiles of one
    name = f"inkloop-display-{tokenize(segment.volume.name, step)}"
    tile = (1, DISPLAY_LEVEL_MIN, DISPLAY_LEVEL_MIN)
    return da.from_array(EveryNth(segment, step), chunks=tile, name=name, lock=False)


class EveryNth:
    """Every ``step``-th row and column of ``segment``'s layers as a Z x H x W array-like,
    read window by window from its files (its ``direct`` layers)."""

    def __init__(self, segment, step: int) -> None:
        self.direct, self.layers, self.step = segment.direct, segment.direct_layers, step
        depth, self._height, self._width = segment.shape
        self.shape = (depth, -(-self._height // step), -(-self._width // step))
        self.dtype, self.ndim = np.dtype(segment.volume.dtype), 3

    def __getitem__(self, key) -> np.ndarray:
        key = key if isinstance(key, tuple) else (key,)
        key = (*key, *(slice(None),) * (3 - len(key)))
        squeeze = tuple(i for i, k in enumerate(key) if not isinstance(k, slice))
        layers, rows, cols = (_as_range(k, n) for k, n in zip(key, self.shape, strict=True))
        out = np.empty((len(layers), len(rows), len(cols)), self.dtype)
        if out.size:
            rows, cols = (
                slice(r[0] * self.step, r[-1] * self.step + 1, r.step * self.step)
                for r in (rows, cols)
            )
            for plane, z in zip(out, layers, strict=True):
                plane[...] = self.direct[self.layers[z], rows, cols]
        return out.squeeze(axis=squeeze)


class ViewedLevel:
    """A display level of a segment on a server, as napari's view reads it: lazy, as the dask
    array it wraps, until napari takes a numpy array of it; each read of the server then
    given up after `DISPLAY_TIMEOUT_S` (napari waits for it on its GUI thread, unless its
    asynchronous slicing is on) and not tried again, nor for `VIEW_HOLD_S` after; one
    that fails reads blank, and its `Outage` says so once. Not a dask array: napari's dask
    cache would keep the blank."""

    def __init__(self, level, outage: Outage) -> None:
        self.level, self.outage = level, outage
        self.shape, self.dtype = level.shape, level.dtype
        self.ndim, self.size = level.ndim, level.size

    def __getitem__(self, key) -> ViewedLevel:
        return ViewedLevel(self.level[key], self.outage)

    def __array__(self, dtype=None, copy=None) -> np.ndarray:
        try:
            block, answered = _remote.read_for_view(self.level)
        except SegmentError as error:
            self.outage.began(error)
            block = np.zeros(self.shape, self.dtype)
        else:
            if answered:  # not a read the chunk cache held all of: the server is back
                self.outage.ended()
        return block if dtype is None else block.astype(dtype, copy=False)


class Outage:
    """Whether the last read of a server for the view failed: said once, until one the server
    answered succeeds (the next read `VIEW_HOLD_S` after tries the server again)."""

    def __init__(self, server: str) -> None:
        self.server, self.down, self._lock = server, False, threading.Lock()

    def began(self, error: SegmentError) -> None:
        with self._lock:
            said, self.down = self.down, True
        if said:
            return
        if isinstance(error.__cause__, TimeoutError):  # a link that stalled, maybe mid-chunk
            seconds = _remote.DISPLAY_TIMEOUT_S
            error = (
                f"{self.server} stopped answering for {seconds:g} s (or sent a chunk too slowly)"
            )
        say_warning(f"{error}; the view is left blank there; move the view to try again")

    def ended(self) -> None:
        self.down = False
