"""Whole segments, block by block with dask, into a prediction file with bounded memory."""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import threading
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

import numpy as np

from inkloop._command import in_command, terminate_as_ctrl_c
from inkloop._cpus import usable_cpus
from inkloop.io import prediction_kind, prediction_output
from inkloop.predict._outputs import PredictionFile
from inkloop.predict._predictor import Predictor
from inkloop.predict._provenance import prediction_record
from inkloop.predict._tiles import Blend, check_region, tile_corners
from inkloop.settings import BLOCK

STOPPING = "stopping: finishing the blocks in progress (Ctrl-C again to quit now)"
STOPPING_IN_PYTHON = "stopping: finishing the blocks in progress (interrupt again not to wait)"


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


def write_prediction(
    probability,
    out: Path,
    *,
    progress=True,
    tiff_float=False,
    workers: int | None = None,
    origin=(0, 0),
    overwrite: bool = True,
    record: dict | None = None,
) -> Path:
    """Compute the dask array ``probability`` into ``out``, whose ending picks the format:
    ``.ome.zarr`` (uint8 OME-Zarr pyramid), ``.png`` (uint8), ``.tif`` (tiled, compressed
    uint8 BigTIFF; float32 with ``tiff_float``) or ``.zarr`` (float32).

    ``progress``: True for a bar on stderr, False for none, or a dask Callback to run instead
    (on this compute only, never registered for the process).
    The result goes to a hidden file beside ``out`` first and replaces ``out`` only once
    complete, so an error or interruption leaves no partial file (and any old one intact).
    Ctrl+C waits for the blocks in progress, removes what was staged and raises
    KeyboardInterrupt; a second Ctrl+C raises it at once (`_stopping`). In the `inkloop`
    command a SIGTERM does the same (`terminate_as_ctrl_c`).
    ``workers``: threads computing blocks (default: one per core). ``origin``: where the
    array's first pixel lies in the segment, recorded by an OME-Zarr (a region's prediction).
    ``overwrite`` False: an ``out`` that exists once this run holds it is refused (another
    run wrote it meanwhile), not replaced. ``record``: how it was made, which the file
    records (`PredictionFile`).
    """
    from inkloop._progress import PacedProgressBar

    kind = prediction_kind(prediction_output(out))
    if progress is True:
        progress = PacedProgressBar()
    with terminate_as_ctrl_c():
        options = {"tiff_float": tiff_float, "origin": origin, "overwrite": overwrite}
        output = PredictionFile(out, kind, probability.shape, record=record, **options)
        _store(output, probability, progress, workers)
        return output.finish()


def _store(output: PredictionFile, probability, progress, workers: int | None) -> None:
    """Compute ``probability`` into ``output``'s staged array; on an error or an interrupt,
    wait for the blocks in progress and remove what was staged."""
    from dask.callbacks import normalize_callback

    # our own pool, so that after an interruption no block is still being written when the
    # staged file is removed (a late writer would recreate it)
    pool = ThreadPoolExecutor(workers or usable_cpus())
    # given to this compute, not registered (`with progress`): dask's registry is one for the
    # process, and a compute another thread starts meanwhile would take it from this one
    callbacks = [normalize_callback(progress)] if progress else None
    try:
        output.store(probability).compute(scheduler="threads", pool=pool, callbacks=callbacks)
    except BaseException as error:
        pool.shutdown(wait=False, cancel_futures=True)
        abandoned = _abandon_when_done(pool, output)
        # in Python another Ctrl-C cuts this wait short (KeyboardInterrupt), and the removal
        # goes on without it
        pressed = isinstance(error, KeyboardInterrupt)
        with _stopping(output) if pressed else contextlib.nullcontext():
            abandoned.result()
        raise
    finally:
        pool.shutdown(wait=False)


@contextlib.contextmanager
def _stopping(output: PredictionFile):
    """After a Ctrl-C (or, in the command, a SIGTERM): says so. Inside, in Python, another
    Ctrl-C raises KeyboardInterrupt as ever (`_abandon_when_done`). In the `inkloop` command
    (`as_command`; on the main thread) another Ctrl-C or SIGTERM removes what ``output``
    staged and ends the process at once, exit status 130: nothing can stop the blocks'
    threads, which an interpreter's exit waits for."""
    if not in_command():
        print(STOPPING_IN_PYTHON, file=sys.stderr, flush=True)
        yield
        return

    def quit_now(*_) -> None:
        try:
            output.abandon()
        finally:  # even if this press cut short an abandon under way
            print(f"interrupted: {output.out} was not written", file=sys.stderr, flush=True)
            os._exit(130)

    on_main = threading.current_thread() is threading.main_thread()
    previous = signal.signal(signal.SIGINT, quit_now) if on_main else None
    print(STOPPING, file=sys.stderr, flush=True)  # once a second press would quit
    try:
        yield
    finally:
        if previous is not None:  # None: a handler set outside Python, which cannot be put back
            signal.signal(signal.SIGINT, previous)


def _abandon_when_done(pool, output: PredictionFile) -> Future:
    """Remove what ``output`` staged once ``pool``'s threads have ended, on a thread of its
    own: until then a block may still store there, and the claim it holds keeps another run
    from writing the same output. The Future says when, and raises what the removal raised.
    The threads are joined there, never on the main thread: a join that a Ctrl-C cuts short
    marks the thread ended while it still runs (Python 3.11), and later joins return at
    once. Nor are the tasks waited for by their futures: a Ctrl-C may land in the pool's
    submit after a block started and before dask holds its future."""
    done = Future()

    def abandon() -> None:
        try:
            pool.shutdown(wait=True)
            output.abandon()
        except BaseException as error:
            done.set_exception(error)
        else:
            done.set_result(None)

    threading.Thread(target=abandon, name="inkloop-abandon").start()
    return done


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
            while len(_MASKS) >= 2:
                _MASKS.pop(next(iter(_MASKS)))
        _MASKS[lazy.name] = mask  # the newest last
        return mask
