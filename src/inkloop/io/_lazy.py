"""Array-likes over segment files wrapped as dask arrays, named without hashing any data."""

from __future__ import annotations

from pathlib import Path

from inkloop.io._errors import SegmentError


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


def layer_chunks(shape: tuple[int, ...]) -> tuple[int, int, int]:
    """One chunk per layer: dask slices windows into the chunk's read, so a patch of 16 layers
    is 16 small reads (with 2048² chunks it was up to 64 tasks, 3x slower), and a full
    layer for display is one read."""
    return (1, shape[1], shape[2])
