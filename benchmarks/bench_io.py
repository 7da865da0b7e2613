"""Segment I/O on a big Vesuvius-layout segment folder; prints one JSON object.

    python benchmarks/bench_io.py --cache DIR [--height 8192 --width 8192 --layers 65]

The segment (65 x 8192 x 8192 uint16, ~8.7 GB) is made once into DIR by a subprocess, so its
memory does not count here. Figures: time to open_segment (after the one-time import of
dask.array, reported as import_s), time to the first full layer in memory, median time to read
a random 256 x 256 x 16-layer training patch (first read, and the same patches again with the
OS page cache warm), and peak RSS.
"""

from __future__ import annotations

import argparse
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
    parser.add_argument("--patches", type=int, default=100)
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

    rng = np.random.default_rng(0)
    depth, height, width = segment.shape
    corners = [
        [int(rng.integers(n)) for n in (depth - 16, height - 256, width - 256)]
        for _ in range(args.patches)
    ]
    first_read = _median_patch_ms(segment, corners)
    warm_read = _median_patch_ms(segment, corners)  # training revisits its labelled area

    result = {
        "open_s": round(open_s, 4),
        "import_s": round(import_s, 3),
        "first_layer_s": round(first_layer_s, 3),
        "patch_ms": first_read,
        "patch_warm_ms": warm_read,
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "shape": list(segment.shape),
        "dtype": str(segment.dtype),
    }
    print(json.dumps(result))


def _median_patch_ms(segment, corners) -> float:
    times = []
    for z, y, x in corners:
        started = time.perf_counter()
        patch = segment.volume[z : z + 16, y : y + 256, x : x + 256].compute()
        times.append(time.perf_counter() - started)
        assert patch.shape == (16, 256, 256)
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
