"""Where whole-segment prediction spends its time: each stage's thread-seconds, and the rate
of the tile reads alone (`bench_predict.py --parts stages`)."""

from __future__ import annotations

import os
import time
from pathlib import Path


def timed_stages(predictor, segment, mask, out: Path) -> dict:
    """The blocks into a TIFF once more, with the seconds each stage took summed over the
    threads (`thread_seconds`): a block task (``accumulate``) reads ahead in a second
    thread, runs the network, and adds each tile into its blend; then the blocks are
    finished and stored, and the TIFF is written from the stored chunks."""
    from _thread_time import thread_seconds

    from inkloop.predict import Predictor, _outputs, _tiles, predict_into
    from inkloop.predict import _segment as blocks

    targets = {
        "block_tasks": (Predictor, "accumulate"),
        "reads_ahead": (Predictor, "_read"),
        "forward": (Predictor, "forward"),
        "blend_add": (_tiles.Blend, "add"),
        "finish_blocks": (blocks, "_finish_block"),
        "store_chunks": (_outputs, "_store_chunk"),
        "write_file": (_outputs.PredictionFile, "finish"),
    }
    with thread_seconds(targets) as report:
        predict_into(predictor, segment, out, mask=mask, progress=False)
    return {**report, "workers": os.cpu_count()}


def reads_rate(predictor, segment, mask) -> float:
    """Output megapixels/s of reading and normalising every tile's layers, batch by batch in
    one thread per core, and nothing else: whether the reads scale with the cores."""
    from concurrent.futures import ThreadPoolExecutor

    from inkloop.predict._tiles import tile_corners

    shape = segment.shape[1:]
    corners = tile_corners((0, 0, *shape), shape, predictor.tile, predictor.overlap, mask)
    size = predictor.batch_size
    batches = [corners[i : i + size] for i in range(0, len(corners), size)]
    started = time.perf_counter()
    with ThreadPoolExecutor(os.cpu_count()) as pool:
        for _ in pool.map(lambda batch: predictor._read(segment, batch), batches):
            pass
    return round(mask.size / 1e6 / (time.perf_counter() - started), 2)
