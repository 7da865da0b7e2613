"""Segments stored as one multi-page TIFF, however it was written: in one call, page by page,
compressed or not."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import numpy as np

from inkloop.io._errors import SegmentError
from inkloop.io._images import check_tiff_complete, decoding_tiff, tiff_data_end
from inkloop.io._layers import unlike_layers
from inkloop.io._lazy import as_volume, layer_chunks, lazy
from inkloop.io._raw import RawArray


def open_tiff_stack(path: Path):
    """The layers of a multi-page TIFF: (a plain array-like over them, the same as a dask
    array Z x H x W); SegmentError saying why for anything but a stack of grey layers."""
    try:
        with _open_tiff(path) as tif:
            series, shaped = tif.series[0], tif.is_shaped
            shape = tuple(n for n in series.shape if n != 1)
            unlike = None if len(shape) == 3 else _unlike_pages(tif.pages)
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
    if unlike:
        raise SegmentError(f"{path}: {unlike}")
    if len(shape) != 3:
        raise SegmentError(f"{path}: not a segment: one {shape} image, not a stack of layers")
    if contiguous:
        stack = RawArray(path, series.dataoffset, shape, file_dtype)
        return stack, lazy(stack, layer_chunks(shape), key=path)
    stack = decoding_tiff(path, is_shaped=shaped)
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
    first = _page_layout(pages.first)
    return len(pages) > 1 and all(_page_layout(page) == first for page in pages)


def _unlike_pages(pages) -> str | None:
    """What sets the odd pages of a multi-page TIFF apart from the rest (the most common
    size and dtype, else the first page's), naming them; None where all pages are alike.
    Reduced pages (an image's pyramid levels or thumbnail) are no layers."""
    layouts = [_page_layout(page) for page in pages if not getattr(page, "is_reduced", False)]
    usual = Counter(layouts).most_common(1)[0][0]
    odd = [index for index, layout in enumerate(layouts) if layout != usual]
    if not odd:
        return None
    first_odd = f"layer {odd[0]} (page {odd[0] + 1} of {len(layouts)})"
    message = unlike_layers(first_odd, layouts[odd[0]], f"layer {layouts.index(usual)}", usual)
    if len(odd) == 2:
        message += f" (layer {odd[1]} differs too)"
    elif len(odd) > 2:
        message += f" (layers {', '.join(map(str, odd[1:6]))}{', ...' * (len(odd) > 6)} differ too)"
    return message


def _page_layout(page) -> tuple:
    return page.shape, page.dtype


def _colour(series) -> bool:
    """Whether a series' pages are colour images (samples interleaved). Separate planes are
    layers: tifffile stores a 3- or 4-layer volume so unless told otherwise."""
    return series.axes.endswith("S")
