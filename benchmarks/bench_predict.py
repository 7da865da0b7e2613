"""Whole-segment prediction speed and memory of the default model; prints one JSON object.

    python benchmarks/bench_predict.py [--cache DIR] [--device auto] [--rss-size 8192]
                                       [--parts speed stages rss cluster open http]

mp_per_s: output megapixels/s of `inkloop predict` over a 16 x 4096 x 4096 synthetic segment
(opening, normalising, reading, composing, forward, blending, writing a TIFF). ceiling_mp_per_s: the
same model's forward rate on pre-made tiles, in tile pixels. first_tile_s: time to the first
finished tile of a 1024 x 1024 viewport (model loaded, segment open). peak_rss_mb: peak RSS of a
separate process predicting a 16 x N x N segment (default N = 8192) into a zarr.
cluster: the same segment with `--scheduler local:1` and `local:2` against in-process.
stages: where the time of `speed` goes: setup (checkpoint, segment, mask, normalisation), the
first and second forward pass over each batch size (in a fresh process), the tiles' reads
alone (one thread per core), then the blocks into a TIFF, into a float zarr, with one worker,
once more with each stage's seconds summed over the threads, and with a 1 x 1 convolution in
place of the network (the pipeline around it).
open: napari's time to show an 8k x 8k prediction as an OME-Zarr pyramid and as a PNG.
http: a patch read from a loopback HTTP server against the local disk (`_scale_cases`).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from _machine import machine
from _predict_stages import reads_rate, timed_stages
from _scale_cases import cluster_rates, http_latency, open_times

PARTS = ["speed", "stages", "rss", "cluster", "open", "http"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cache", type=Path, default=Path(".bench_cache"))
    parser.add_argument("--device", default="auto")
    parser.add_argument("--size", type=int, default=4096)
    parser.add_argument("--rss-size", type=int, default=8192)
    parser.add_argument("--parts", nargs="+", default=PARTS, choices=PARTS)
    parser.add_argument("--child-model", type=Path, help=argparse.SUPPRESS)  # `_child` modes
    parser.add_argument("--child-first-calls", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child_model:
        print(json.dumps(_child(args)))
        return
    segment_path = _segment(args.cache, args.size)
    model = _model(segment_path, args.cache / "predict_model.pt", args.device)
    result = {"machine": machine()}
    if "speed" in args.parts:
        result.update(_speed(segment_path, model, args.cache, args.device))
        result["first_tile_s"] = _first_tile(segment_path, model, args.device)
    if "stages" in args.parts:
        result["stages"] = _stages(segment_path, model, args)
    if "rss" in args.parts:
        result["peak_rss_mb"] = _peak_rss(args)
    if "cluster" in args.parts:
        result["cluster"] = cluster_rates(segment_path, model, args.cache, args.device)
    if "open" in args.parts:
        result["open"] = open_times(args.cache)
    if "http" in args.parts:
        result["http"] = http_latency(segment_path, args.cache)
    print(json.dumps(result))


def _child(args):
    """What a fresh process measures: its forward passes' first calls, or its peak RSS
    predicting the segment into a zarr."""
    from inkloop.headless import predict_to_file
    from inkloop.io import open_segment

    segment = _segment(args.cache, args.size)
    if args.child_first_calls:
        return _first_calls(_predictor(open_segment(segment), args.child_model, args.device))
    out = args.cache / "rss_out.zarr"
    predict_to_file(
        segment, args.child_model, out, device=args.device, progress=False, overwrite=True
    )
    return _peak_rss_mb()


def _in_child(args, size: int, model: Path, *options: str):
    """`_child`'s answer, from a fresh process of this script."""
    command = [sys.executable, __file__, "--cache", str(args.cache), "--device", args.device]
    command += ["--size", str(size), "--child-model", str(model), *options]
    result = subprocess.run(command, capture_output=True, text=True, check=True)
    return json.loads(result.stdout.strip().splitlines()[-1])


def _segment(cache: Path, size: int) -> Path:
    from inkloop.synthetic import write_segment

    folder = cache / f"predict_16x{size}x{size}"
    if not (folder / "layers").is_dir():
        write_segment(folder, size, size, 16, seed=8)
    return folder


def _model(segment_path: Path, out: Path, device: str) -> Path:
    """A default-config checkpoint (random weights: speed does not depend on them), with
    the encoder the default picks for ``device``."""
    from inkloop.checkpoint import Checkpoint, save_checkpoint
    from inkloop.compose import Composition, sample_normalisation
    from inkloop.io import open_segment
    from inkloop.model import model_for, pick_device

    segment = open_segment(segment_path)
    composition = Composition().resolve(segment.shape[0])
    config, model = model_for(composition, None, None, pick_device(device))
    checkpoint = Checkpoint(
        model=config,
        composition=composition,
        normalisation=sample_normalisation(segment, composition),
        patch_size=128,
        step=0,
        state_dict=model.state_dict(),
    )
    return save_checkpoint(out, checkpoint)


def _predictor(segment, model: Path, device: str):
    from inkloop.checkpoint import load_checkpoint
    from inkloop.predict import Predictor

    return Predictor.from_checkpoint(load_checkpoint(model), segment, device=device)


def _speed(segment_path: Path, model: Path, cache: Path, device: str, rounds: int = 3) -> dict:
    """`inkloop predict` end to end (open, normalise, predict, write a TIFF) vs pure forward.

    Pipeline and ceiling are measured in alternation, ``rounds`` times, and the medians are
    reported: on a shared VM the forward rate drifts by up to a third between minutes, more
    than the gap being measured.
    """
    from inkloop.headless import predict_to_file
    from inkloop.io import open_segment

    segment = open_segment(segment_path)
    predictor = _predictor(segment, model, device)
    pixels = segment.shape[1] * segment.shape[2] / 1e6
    ceilings, rates = [], []
    for _ in range(rounds):
        ceilings.append(_ceiling(predictor))
        started = time.perf_counter()
        out = cache / "predict_out.tif"
        predict_to_file(segment_path, model, out, device=device, progress=False, overwrite=True)
        rates.append(pixels / (time.perf_counter() - started))
    mask = np.asarray(segment.mask)
    return {
        "mp_per_s": round(float(np.median(rates)), 3),
        "ceiling_mp_per_s": round(float(np.median(ceilings)), 3),
        "ratio": round(float(np.median(np.array(rates) / np.array(ceilings))), 3),
        "device": str(predictor.device),
        "rounds": {
            "mp_per_s": [round(r, 3) for r in rates],
            "ceiling": [round(c, 3) for c in ceilings],
        },
        "tile": predictor.tile,
        "overlap": predictor.overlap,
        "batch_size": predictor.batch_size,
        "papyrus_fraction": round(float(mask.mean()), 3),
    }


def _ceiling(predictor, runs: int = 8) -> float:
    """Forward rate (tile megapixels/s) on pre-made tiles of the predictor's batch size, each
    holding the layers of the model's z-window."""
    import torch

    layers = predictor.composition.z_count
    tiles = torch.rand(predictor.batch_size, layers, predictor.tile, predictor.tile)
    for _ in range(4):  # warm up: oneDNN builds its kernels for this shape on first use
        predictor.forward(tiles)
    started = time.perf_counter()
    for _ in range(runs):
        predictor.forward(tiles)
    return runs * tiles[:, 0].numel() / 1e6 / (time.perf_counter() - started)


def _stages(segment_path: Path, model: Path, args) -> dict:
    """Output megapixels/s of the blocks written several ways, and the setup's seconds."""
    import torch

    from inkloop.checkpoint import load_checkpoint
    from inkloop.io import open_segment
    from inkloop.predict import Predictor, predict_into

    cache, device = args.cache, args.device
    started = time.perf_counter()
    segment = open_segment(segment_path)
    mask = np.asarray(segment.mask)
    checkpoint = load_checkpoint(model)
    predictor = Predictor.from_checkpoint(checkpoint, segment, device=device, mask=mask)
    result = {"setup_s": round(time.perf_counter() - started, 2)}
    # in a process that has not run the model yet (`speed` has, here, on the same shapes)
    result["batch_of_n_first_second_s"] = _in_child(args, args.size, model, "--child-first-calls")

    def rate(out: str, **options) -> float:
        started = time.perf_counter()
        predict_into(predictor, segment, cache / out, mask=mask, progress=False, **options)
        return round(mask.size / 1e6 / (time.perf_counter() - started), 2)

    result["reads_mp_per_s"] = reads_rate(predictor, segment, mask)
    result["tif_mp_per_s"] = rate("stages.tif")
    result["zarr_mp_per_s"] = rate("stages.zarr")
    result["one_worker_mp_per_s"] = rate("stages.tif", workers=1)
    result["thread_seconds"] = timed_stages(predictor, segment, mask, cache / "stages.tif")
    network = torch.nn.Conv2d(predictor.composition.in_channels, 1, 1)
    scale = predictor.scale  # a Predictor takes its tile in model pixels
    predictor = Predictor(
        network.to(predictor.device).eval(),
        predictor.composition,
        predictor.normalisation,
        tile=predictor.tile // scale,
        overlap=predictor.overlap // scale,
        batch_size=predictor.batch_size,
    )
    result["no_network_mp_per_s"] = rate("stages.tif")
    return result


def _first_calls(predictor) -> dict:
    """{n: [first, second]} seconds of the forward pass over n tiles, for every n up to the
    batch size (run it where the model has not run yet): a block's last batch is short,
    and a new input shape may cost a GPU library's plans (or oneDNN's kernels) once more."""
    import torch

    timings = {}
    layers = predictor.composition.z_count
    for count in range(predictor.batch_size, 0, -1):
        tiles = torch.rand(count, layers, predictor.tile, predictor.tile)
        timings[count] = []
        for _ in range(2):
            started = time.perf_counter()
            predictor.forward(tiles)  # returns on the host: the device is done
            timings[count].append(round(time.perf_counter() - started, 3))
    return timings


def _first_tile(segment_path: Path, model: Path, device: str) -> float:
    from inkloop.io import open_segment

    segment = open_segment(segment_path)
    predictor = _predictor(segment, model, device)
    centre = segment.shape[1] // 2
    half = min(512, centre)  # a 1024² viewport, or all of a smaller segment
    viewport = (centre - half, centre - half, centre + half, centre + half)
    started = time.perf_counter()
    next(iter(predictor.stream(segment, viewport)))
    return round(time.perf_counter() - started, 3)


def _peak_rss_mb() -> int:
    """This process's peak RSS. VmHWM, not ru_maxrss: Linux carries ru_maxrss over from the
    parent through fork and exec, so a child would report the benchmark parent's peak."""
    lines = Path("/proc/self/status").read_text().splitlines()
    return int(next(line for line in lines if line.startswith("VmHWM")).split()[1]) // 1024


def _peak_rss(args) -> int:
    """Peak RSS (MB) of a fresh process predicting the whole big segment into a zarr."""
    model = _model(_segment(args.cache, args.rss_size), args.cache / "rss_model.pt", args.device)
    return _in_child(args, args.rss_size, model)


if __name__ == "__main__":
    main()
