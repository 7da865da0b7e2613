"""Whole segments, block by block with dask, into PNG, TIFF or zarr with bounded memory."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from inkloop.predict._predictor import Predictor

OUTPUT_SUFFIXES = (".png", ".tif", ".tiff", ".zarr")
TIFF_TILE = 256


def predict_segment(
    predictor: Predictor,
    segment,
    mask: np.ndarray | None = None,
    *,
    region: tuple[int, int, int, int] | None = None,
    block: int = 2048,
):
    """A lazy dask array (float32) of ink probability over ``region`` (default: everything).

    Each block of ``block``² pixels is one task that predicts every tile touching it. Tiles lie
    on one grid for the whole segment, so the result equals `Predictor.predict_region` over
    the same area, without seams between blocks. Memory is bounded by the block size, any
    dask scheduler (threads, processes, a dask.distributed cluster) can run the tasks, and
    blocks without papyrus cost nothing.
    """
    import dask
    import dask.array as da

    if block % TIFF_TILE:
        raise ValueError(f"block size {block} must be a multiple of {TIFF_TILE}")
    height, width = segment.shape[1:]
    y0, x0, y1, x1 = region or (0, 0, height, width)
    # one graph node each, so they are shipped once, not per task; traverse=False keeps dask
    # from unpacking the Segment dataclass and computing its (lazy, huge) volume as an input
    model = dask.delayed(predictor, traverse=False)
    layers = dask.delayed(segment, traverse=False)
    rows = []
    for top in range(y0, y1, block):
        row = []
        for left in range(x0, x1, block):
            box = (top, left, min(top + block, y1), min(left + block, x1))
            shape = (box[2] - box[0], box[3] - box[1])
            window = None if mask is None else MaskWindow(mask[_slices(box)], box)
            if window is not None and not window.window.any():
                row.append(da.zeros(shape, np.float32, chunks=shape))
                continue
            task = model.predict_region(layers, box, window)
            row.append(da.from_delayed(task, shape, np.float32))
        rows.append(row)
    return da.block(rows)


def write_prediction(probability, out: Path, *, progress: bool = True) -> Path:
    """Compute the dask array ``probability`` into ``out``: PNG (uint8 0-255), TIFF (float32,
    tiled, zlib) or zarr (float32, chunked like the blocks)."""
    import contextlib
    import sys

    from dask.diagnostics import ProgressBar

    check_output(out)
    suffix = out.suffix.lower()
    with ProgressBar(out=sys.stderr) if progress else contextlib.nullcontext():
        if suffix == ".zarr":
            probability.to_zarr(str(out), overwrite=True)
        elif suffix == ".png":
            from inkloop.io import write_png

            write_png(out, _to_uint8(probability).compute())
        else:
            _write_tiff(probability, out)
    return out


def check_output(out: Path) -> None:
    """Fail before any work if ``out`` has the wrong kind or cannot be written."""
    import os

    if out.suffix.lower() not in OUTPUT_SUFFIXES:
        raise ValueError(f"{out}: the output must end in .png, .tif, .tiff or .zarr")
    folder = out.expanduser().resolve().parent
    if not folder.is_dir():
        raise ValueError(f"{folder}: folder does not exist")
    if not os.access(folder, os.W_OK):
        raise ValueError(f"{folder}: cannot write here")


class MaskWindow:
    """Part of a papyrus mask indexed in image pixels, as Predictor expects the whole mask.

    Lets a block task carry only its own window of the mask (a few MB, not the segment's);
    outside the window reads as no papyrus.
    """

    def __init__(self, window: np.ndarray, box) -> None:
        self.window, self.origin = window, box[:2]

    def __getitem__(self, key) -> np.ndarray:
        rows, cols = key
        oy, ox = self.origin
        return self.window[
            max(rows.start - oy, 0) : max(rows.stop - oy, 0),
            max(cols.start - ox, 0) : max(cols.stop - ox, 0),
        ]


def _slices(box) -> tuple[slice, slice]:
    return slice(box[0], box[2]), slice(box[1], box[3])


def _to_uint8(probability):
    return (probability * 255 + 0.5).astype(np.uint8)


def _write_tiff(probability, out: Path) -> None:
    """Tiled float32 TIFF, computed one row of blocks at a time (memory: one row of blocks)."""
    import tifffile

    height, width = probability.shape

    def tiles():
        top = 0
        for rows in probability.chunks[0]:  # block rows are multiples of TIFF_TILE
            band = np.asarray(probability[top : top + rows].compute())
            top += rows
            for y in range(0, rows, TIFF_TILE):
                for x in range(0, width, TIFF_TILE):
                    piece = np.zeros((TIFF_TILE, TIFF_TILE), np.float32)
                    part = band[y : y + TIFF_TILE, x : x + TIFF_TILE]
                    piece[: part.shape[0], : part.shape[1]] = part
                    yield piece

    tifffile.imwrite(
        out,
        tiles(),
        shape=(height, width),
        dtype=np.float32,
        tile=(TIFF_TILE, TIFF_TILE),
        compression="zlib",
        predictor=True,
    )
