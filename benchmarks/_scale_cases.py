"""bench_predict's figures for whole segments at scale: a dask.distributed cluster against the
in-process run, opening an OME-Zarr pyramid in napari against a flat PNG, and patch reads
over loopback HTTP against the local disk."""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np


def cluster_rates(segment_path: Path, model: Path, cache: Path, device: str) -> dict:
    """MP/s of `inkloop predict` on one segment: in-process, then local:1 and local:2, each
    cluster once cold (its start and the workers' first import of torch included) and once
    warm (the run a long batch settles into)."""
    from inkloop.headless import predict_segments
    from inkloop.io import open_segment
    from inkloop.predict.batch import cluster_client, plan_jobs, predict_jobs

    shape = open_segment(segment_path).shape
    pixels = shape[1] * shape[2] / 1e6
    out = cache / "cluster_out"
    shutil.rmtree(out, ignore_errors=True)
    started = time.perf_counter()
    predict_segments([segment_path], model, out_dir=out, device=device, progress=False)
    result = {"in_process_mp_per_s": round(pixels / (time.perf_counter() - started), 3)}
    for workers in (1, 2):
        started = time.perf_counter()
        with cluster_client(f"local:{workers}", device=device) as client:
            runs = []
            for _ in range(2):
                jobs, _ = plan_jobs([segment_path], out, overwrite=True)
                begun = time.perf_counter()
                predict_jobs(model, jobs, client, device=device, progress=False)
                runs.append(time.perf_counter() - begun)
            cold = time.perf_counter() - started - runs[1]  # not the cluster's shutdown
        result[f"local_{workers}_cold_mp_per_s"] = round(pixels / cold, 3)
        result[f"local_{workers}_warm_mp_per_s"] = round(pixels / runs[1], 3)
    result["segment"] = list(shape)
    return result


def open_times(cache: Path, size: int = 8192) -> dict:
    """Seconds from `viewer.open` to the first drawn frame in napari, for a size x size
    prediction as an OME-Zarr pyramid and as a PNG (each in a fresh process)."""
    import dask.array as da

    from inkloop.predict import write_prediction

    files = {"ome_zarr": cache / f"open_{size}.ome.zarr", "png": cache / f"open_{size}.png"}
    rng = da.random.default_rng(0)
    probability = rng.random((size, size), dtype=np.float32, chunks=2048)
    for path in files.values():
        if not path.exists():
            write_prediction(probability, path, progress=False)
    return {f"open_{kind}_s": _open_in_napari(path) for kind, path in files.items()}


def _open_in_napari(path: Path) -> float:
    script = (
        "import contextlib, sys, time, napari\n"
        "with contextlib.redirect_stdout(sys.stderr):  # napari's notifications\n"
        "    viewer = napari.Viewer(show=True)\n"
        "    started = time.perf_counter()\n"
        "    viewer.open(sys.argv[1], plugin=None if sys.argv[1].endswith('.png') "
        "else 'napari-inkloop')\n"
        "    viewer.screenshot(canvas_only=True)\n"
        "    seconds = time.perf_counter() - started\n"
        "    viewer.close()\n"
        "print(seconds)\n"
    )
    command = [sys.executable, "-c", script, str(path)]
    if not os.environ.get("DISPLAY") and shutil.which("xvfb-run"):
        command = ["xvfb-run", "-a", *command]
    done = subprocess.run(command, capture_output=True, text=True, check=True)
    return round(float(done.stdout.strip().splitlines()[-1]), 3)


def http_latency(segment_path: Path, cache: Path, reads: int = 40, patch: int = 256) -> dict:
    """Median ms to read a 16-layer patch of the segment (stored as a zarr with 1 x 512²
    chunks) from the local disk and from a loopback HTTP server, without a chunk cache."""
    import zarr

    from inkloop.io import open_segment

    source = open_segment(segment_path)
    store = cache / f"http_segment_{'x'.join(map(str, source.shape))}.zarr"
    if not store.exists():
        zarr.create_array(str(store), data=np.asarray(source.volume), chunks=(1, 512, 512))
    with _serve(cache) as base:
        segments = {"disk": open_segment(store), "http": open_segment(f"{base}/{store.name}")}
        rng = np.random.default_rng(0)
        depth, height, width = segments["disk"].shape
        corners = rng.integers(0, [height - patch, width - patch], size=(reads, 2))
        result = {}
        for where, segment in segments.items():
            times = []
            for y, x in corners:
                started = time.perf_counter()
                segment.read(list(range(depth)), slice(y, y + patch), slice(x, x + patch))
                times.append(time.perf_counter() - started)
            result[f"patch_read_{where}_ms"] = round(1000 * float(np.median(times)), 2)
    result["patch"] = [depth, patch, patch]
    result["segment"] = [depth, height, width]
    return result


@contextlib.contextmanager
def _serve(root: Path):
    """The standard library's HTTP server on ``root``, in its own process (in this one it
    would take the GIL from the reads being timed)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    command = [sys.executable, "-m", "http.server", str(port), "--bind", "127.0.0.1"]
    server = subprocess.Popen(
        [*command, "--directory", str(root)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        _wait_for_port(port)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.terminate()
        server.wait(30)


def _wait_for_port(port: int, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)  # a benchmark's start-up poll, not a test's synchronisation
