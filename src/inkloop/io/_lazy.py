"""Array-likes over segment files wrapped as dask arrays, named without hashing any data,
and seen as Z x H x W whatever order their axes are stored in."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from inkloop.io._errors import SegmentError

ZYX = (0, 1, 2)  # the stored axes of z, y and x where the layers come first


def lazy(array, chunks, *, key, stamp=None):
    """Wrap an array-like in dask; the name comes from the path (or URL) and ``stamp`` (its
    mtime by default: a rewritten segment must not hit napari's dask cache), so no data is
    hashed."""
    import dask.array as da
    from dask.base import tokenize

    stamp = Path(key).stat().st_mtime_ns if stamp is None else stamp
    name = f"inkloop-{tokenize(str(key), stamp, array.shape, str(array.dtype), chunks)}"
    return da.from_array(array, chunks=chunks, name=name, lock=False, asarray=True)


def as_volume(path, volume):
    """Drop leading singleton axes (OME's t, c) so the dask array is Z x H x W."""
    while volume.ndim > 3 and volume.shape[0] == 1:
        volume = volume[0]
    if volume.ndim != 3:
        raise SegmentError(f"{path}: expected a Z x H x W volume, found shape {volume.shape}")
    return volume


def to_zyx(volume, order: tuple[int, int, int] = ZYX):
    """The lazy ``volume`` whose z, y and x are its axes ``order``, as Z x H x W (no copy)."""
    return volume if order == ZYX else volume.transpose(order)


def zyx_direct(array, order: tuple[int, int, int] = ZYX):
    """``array`` to index as Z x H x W without dask: itself where it is stored so."""
    return array if array.ndim == 3 and order == ZYX else _ZYXView(array, order)


class _ZYXView:
    """Index a stored array as Z x H x W: its leading singleton axes (OME's t and c) at 0,
    its last three taken in ``order``."""

    def __init__(self, array, order: tuple[int, int, int]) -> None:
        self.array, self.order, self.leading = array, order, array.ndim - 3

    def __getitem__(self, key):
        key = key if isinstance(key, tuple) else (key,)
        key = (*key, *(slice(None),) * (3 - len(key)))
        stored = [slice(None)] * 3
        for axis, index in zip(self.order, key, strict=True):
            stored[axis] = index
        block = self.array[(0,) * self.leading + tuple(stored)]
        kept = [axis for axis in range(3) if not isinstance(stored[axis], int | np.integer)]
        return np.transpose(block, [kept.index(axis) for axis in self.order if axis in kept])


def layer_chunks(shape: tuple[int, ...]) -> tuple[int, int, int]:
    """One chunk per layer: dask slices windows into the chunk's read, so a patch of 16 layers
    is 16 small reads (with 2048² chunks it was up to 64 tasks, 3x slower), and a full
    layer for display is one read."""
    return (1, shape[1], shape[2])
