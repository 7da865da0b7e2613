"""Whole segments, block by block with dask, into a prediction file with bounded memory."""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np

from inkloop.predict._predictor import Predictor
from inkloop.predict._provenance import prediction_record
from inkloop.predict._tiles import Blend, check_region, tile_corners
from inkloop.predict._write import write_prediction
from inkloop.settings import BLOCK


def predict_segment(
    predictor: Predictor,
    segment,
    mask: np.ndarray | None = None,
    *,
    region: tuple[int, int, int, int] | None = None,
    block: int = BLOCK,
    mask_in_graph: bool = True,
):
    """A lazy dask array (float32) of ink probability over ``region`` (default: everything).

    Every tile of the segment-wide grid is computed once, by the task of the block holding
    its top-left corner; that task returns weighted sums, and each output block adds up the
    sums of its own task and of the three blocks above and to the left (overlap-add). So the
    result equals `Predictor.predict_region` over the same area, blocks meet without seams,
    memory is bounded by the block size, and any dask scheduler (threads, processes, a
    dask.distributed cluster) can run it. Tiles without papyrus are never computed.

    ``mask`` (numpy) chooses the tiles here; the blocks are masked with windows of it
    embedded in the graph, or, with ``mask_in_graph=False``, of the segment's own lazy mask,
    decoded once in each process that runs blocks (`_decoded_mask`; for a cluster: an 8k x
    14k mask would make every segment's graph 112 MB).
    """
    import dask
    import dask.array as da

    block *= -(-predictor.tile // block)  # holding a tile: a model at scale 4 sees 2176 px
    shape = segment.shape[1:]
    region = check_region(region or (0, 0, *shape), shape)
    y0, x0, y1, x1 = region
    tops, lefts = range(y0, y1, block), range(x0, x1, block)
    # one graph node each, so they are shipped once, not per task; traverse=False keeps dask
    # from unpacking the Segment dataclass and computing its (lazy, huge) volume as an input
    model = dask.delayed(predictor, traverse=False)
    layers = dask.delayed(segment, traverse=False)
    lazy_mask = not mask_in_graph and segment.mask is not None
    sums = {
        key: model.accumulate(layers, corners, _tiles_box(corners, predictor.tile))
        for key, corners in _corners_by_block(predictor, shape, region, block, mask).items()
    }
    rows = []
    for i, top in enumerate(tops):
        row = []
        for j, left in enumerate(lefts):
            box = (top, left, min(top + block, y1), min(left + block, x1))
            size = (box[2] - box[0], box[3] - box[1])
            parts = [sums[k] for k in ((i, j), (i - 1, j), (i, j - 1), (i - 1, j - 1)) if k in sums]
            if not parts:
                row.append(da.zeros(size, np.float32, chunks=size))
                continue
            window = _window(mask, layers if lazy_mask else None, box)
            task = dask.delayed(_finish_block)(box, window, predictor.tile, *parts)
            row.append(da.from_delayed(task, size, np.float32))
        rows.append(row)
    return da.block(rows)


def predict_into(
    predictor: Predictor,
    segment,
    out: Path,
    *,
    mask: np.ndarray | None = None,
    region: tuple[int, int, int, int] | None = None,
    progress=True,
    workers: int | None = None,
    block: int = BLOCK,
    tiff_float: bool = False,
    overwrite: bool = True,
    model: dict | None = None,
) -> Path:
    """Predict ``region`` of ``segment`` (default: all of it) block by block into ``out``,
    which records how (`prediction_record`; ``model``: `model_identity` or
    `live_model_identity` of the predictor's model, None where not known).

    ``workers``: threads computing blocks; None: one per core, on a CPU too, where one
    block's reads overlap another's forward pass (2048² on 2 cores: 1.9-2.1 MP/s against
    1.5-1.8 with one worker, 2026-11-29). ``progress``, ``tiff_float`` and ``overwrite``
    as in `write_prediction`, ``block`` as in `predict_segment`.
    """
    region = check_region(region or (0, 0, *segment.shape[1:]), segment.shape[1:])
    probability = predict_segment(predictor, segment, mask, region=region, block=block)
    options = {"tiff_float": tiff_float, "workers": workers, "overwrite": overwrite}
    options["record"] = prediction_record(predictor, segment, model, region)
    return write_prediction(probability, out, progress=progress, origin=region[:2], **options)


def _corners_by_block(predictor: Predictor, shape, region, block: int, mask) -> dict:
    """The region's tiles (with papyrus) grouped by the block that holds their corner."""
    y0, x0, y1, x1 = region
    last_row, last_col = (y1 - y0 - 1) // block, (x1 - x0 - 1) // block
    groups: dict = {}
    for y, x in tile_corners(region, shape, predictor.tile, predictor.overlap, mask):
        key = (min(max((y - y0) // block, 0), last_row), min(max((x - x0) // block, 0), last_col))
        groups.setdefault(key, []).append((y, x))
    return groups


def _tiles_box(corners, tile: int) -> tuple[int, int, int, int]:
    ys, xs = [y for y, _ in corners], [x for _, x in corners]
    return min(ys), min(xs), max(ys) + tile, max(xs) + tile


def _window(mask, segment, box):
    """What masks the block at ``box``: nothing, the window of the numpy ``mask``, or the
    (delayed) ``segment``, whose mask the block's task cuts its window from."""
    if mask is None:
        return None
    if segment is not None:
        return segment
    return mask[box[0] : box[2], box[1] : box[3]]


def _finish_block(box, mask, tile: int, *sums: Blend) -> np.ndarray:
    blend = Blend(box, tile, 0)
    for part in sums:
        blend.add_sums(part)
    probability = blend.result()
    if mask is not None:
        if not isinstance(mask, np.ndarray):  # a segment: its mask decoded in this process
            mask = _decoded_mask(mask.mask)[box[0] : box[2], box[1] : box[3]]
        probability *= mask
    return probability


# a lazy mask's dask name (which holds its file, shape and mtime) -> the mask, decoded
_MASKS: dict[str, np.ndarray] = {}
_DECODING = threading.Lock()


def _decoded_mask(lazy) -> np.ndarray:
    """A segment's lazy mask decoded once in this process, however many of its blocks run
    here, as the model is loaded once (`inkloop.predict._travel`): sliced in the graph, the
    one-chunk image was decoded whole for every block. The two used last are kept, for
    blocks of two segments interleaved on a worker."""
    with _DECODING:  # a worker's threads wait for the one decoding it
        mask = _MASKS.pop(lazy.name, None)
        if mask is None:
            mask = lazy.compute(scheduler="sync")
            for older in list(_MASKS)[:-1]:  # a copy: a run's end pops without the lock
                _MASKS.pop(older, None)
        _MASKS[lazy.name] = mask  # the newest last
        return mask
