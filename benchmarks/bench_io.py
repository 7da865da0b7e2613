"""Segment I/O on a big Vesuvius-layout segment folder; prints one JSON object.

    python benchmarks/bench_io.py --cache DIR [--height 8192 --width 8192 --layers 65]

The segment (65 x 8192 x 8192 uint16, ~8.7 GB) is made once into DIR by a subprocess, so its
memory does not count here. Figures: time to open_segment (after the one-time import of
dask.array, reported as import_s), time to the first full layer in memory (napari's read),
median time of one training batch's read through `read_patches`, the call training makes
(the CPU's default batch of patches at random places, the default z-window and its jitter
margin, normalised; ``batch`` is its shape): batch_read_ms, then batch_read_warm_ms for the
same batches again with the OS page cache warm; and peak RSS.
"""

from __future__ import annotations

import argparse
import functools
import json
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cache", type=Path, default=Path(".bench_cache"))
    parser.add_argument("--height", type=int, default=8192)
    parser.add_argument("--width", type=int, default=8192)
    parser.add_argument("--layers", type=int, default=65)
    parser.add_argument("--batches", type=int, default=100)
    args = parser.parse_args()
    folder = _ensure_segment(args)

    started = time.perf_counter()
    import dask.array  # noqa: F401  (a one-time cost per process; napari has paid it already)

    from inkloop.io import open_segment

    import_s = time.perf_counter() - started
    started = time.perf_counter()
    segment = open_segment(folder)
    open_s = time.perf_counter() - started

    started = time.perf_counter()
    first_layer = np.asarray(segment.volume[0])
    first_layer_s = time.perf_counter() - started
    assert first_layer.shape == (args.height, args.width)
    del first_layer

    read, batches = _training_reads(segment, args.batches)
    first_read = _median_ms(read, batches)
    warm_read = _median_ms(read, batches)  # training revisits its labelled area

    result = {
        "open_s": round(open_s, 4),
        "import_s": round(import_s, 3),
        "first_layer_s": round(first_layer_s, 3),
        "batch_read_ms": first_read,
        "batch_read_warm_ms": warm_read,
        "batch": list(read(batches[0]).shape),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "shape": list(segment.shape),
        "dtype": str(segment.dtype),
    }
    print(json.dumps(result))


def _training_reads(segment, batches: int):
    """``read(corners)``, a training batch's read as training makes it with the default
    settings (`read_patches`), and ``batches`` lists of random corners, a batch's each."""
    from inkloop.compose import Composition, Normalisation, read_patches
    from inkloop.settings import CPU_BATCH, TrainConfig

    train, composition = TrainConfig(), Composition().resolve(segment.shape[0])
    normalisation = Normalisation(0.0, 65535.0)  # its range does not change the cost
    span = train.patch_size * composition.scale
    read = functools.partial(
        read_patches, segment, composition, normalisation, size=span, margin=train.augment.z_jitter
    )
    rng, room = np.random.default_rng(0), [segment.shape[1] - span, segment.shape[2] - span]
    return read, [rng.integers(0, room, size=(CPU_BATCH, 2)).tolist() for _ in range(batches)]


def _median_ms(read, batches) -> float:
    times = []
    for corners in batches:
        started = time.perf_counter()
        read(corners)
        times.append(time.perf_counter() - started)
    return round(1000 * float(np.median(times)), 2)


def _ensure_segment(args) -> Path:
    name = f"bench_{args.layers}x{args.height}x{args.width}"
    folder = args.cache / name
    last = folder / "layers" / f"{args.layers - 1:0{max(2, len(str(args.layers - 1)))}d}.tif"
    if not last.exists():
        print(f"making {folder} once (several minutes for the full size)…", file=sys.stderr)
        command = [
            sys.executable,
            "-m",
            "inkloop.cli",
            "synth",
            str(folder),
            "--height",
            str(args.height),
            "--width",
            str(args.width),
            "--layers",
            str(args.layers),
        ]
        subprocess.run(command, check=True, stdout=subprocess.DEVNULL)
    return folder


if __name__ == "__main__":
    main()
