"""Segments stored as one multi-page TIFF, however it was written: in one call, page by page,
compressed or not."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from inkloop.io._errors import SegmentError
from inkloop.io._images import check_tiff_complete, tiff_data_end
from inkloop.io._lazy import as_volume, layer_chunks, lazy
from inkloop.io._raw import RawArray


def open_tiff_stack(path: Path):
    """The layers of a multi-page TIFF: (a plain array-like over them, the same as a dask
    array Z x H x W); SegmentError saying why for anything but a stack of grey layers."""
    import tifffile
    import zarr

    try:
        with _open_tiff(path) as tif:
            series, shaped = tif.series[0], tif.is_shaped
            shape = tuple(n for n in series.shape if n != 1)
            colour = _colour(series)
            contiguous = series.dataoffset is not None
            contiguous_end = series.dataoffset + series.nbytes if contiguous else None
            check_tiff_complete(path, contiguous_end or tiff_data_end(series.pages))
            file_dtype = np.dtype(series.dtype).newbyteorder(tif.byteorder)
    except SegmentError:
        raise
    except Exception as error:  # tifffile raises several types for damaged files
        raise SegmentError(f"{path}: not a readable TIFF ({error})") from error
    if colour:
        raise SegmentError(f"{path}: colour pages; layers must be single-channel grey")
    if len(shape) != 3:
        raise SegmentError(f"{path}: not a segment: one {shape} image, not a stack of layers")
    if contiguous:
        stack = RawArray(path, series.dataoffset, shape, file_dtype)
        return stack, lazy(stack, layer_chunks(shape), key=path)
    stack = zarr.open(tifffile.imread(path, aszarr=True, is_shaped=shaped), mode="r")
    return stack, as_volume(path, lazy(stack, stack.chunks, key=path))


def is_tiff_stack(path: Path) -> bool:
    """Whether a TIFF's headers describe a stack of grey layers (not one image, a colour or
    ImageJ hyperstack, or a pyramid of one image)."""
    try:
        with _open_tiff(path) as tif:
            series = tif.series[0]
            return not _colour(series) and len([n for n in series.shape if n != 1]) == 3
    except Exception:  # not a TIFF we can read: the plugin declines it, napari tries others
        return False


def _open_tiff(path: Path):
    """``path``'s TiffFile, whose first series is the stack: pages written one by one
    (``imwrite(..., append=True)``, a TiffWriter loop) are each a 2D series of their own
    unless their shape metadata is ignored."""
    import tifffile

    tif = tifffile.TiffFile(path)
    if tif.is_shaped and len(tif.series[0].shape) == 2 and _pages_alike(tif.pages):
        tif.close()
        tif = tifffile.TiffFile(path, is_shaped=False)
    return tif


def _pages_alike(pages) -> bool:
    first = pages.first
    return len(pages) > 1 and all(page.shape == first.shape for page in pages)


def _colour(series) -> bool:
    """Whether a series' pages are colour images (samples interleaved). Separate planes are
    layers: tifffile stores a 3- or 4-layer volume so unless told otherwise."""
    return series.axes.endswith("S")
