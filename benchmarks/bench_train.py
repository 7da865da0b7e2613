"""Training throughput and quality of the default model; prints one JSON object.

    python benchmarks/bench_train.py [--cache DIR] [--device auto] [--skip-quality]
        [--batch-size N] [--loader-workers N] [--full-precision] [--cuda-graphs] [--stages]

Viewport: best forward time of the default model over 1024 x 1024 x 16 layers (at the
default composition's resolution), as the model is (``viewport_forward_s``) and as its
`inference_graph`, which every prediction runs (``viewport_forward_folded_s``: BatchNorms
folded, concatenations split, upsamplings folded into the convolutions).
Throughput: samples/s of `Trainer.step()` (sampling from disk, composition, augmentation,
forward/backward, AdamW) at the default patch and batch size, against the same model's pure
step rate on pre-made device tensors (the ceiling); ``loader_patches_per_s``: the sampler alone
in one thread (what the loader thread asks of the GIL a training thread shares); ``loader``:
which stream made the batches (``--loader-workers``, default as training: worker processes on
a GPU with the cores for them, `inkloop.train.auto_workers`); ``--cuda-graphs``: both rates
with the model's forward and backward replayed from CUDA graphs; ``--stages``: the
pipeline's host milliseconds per step by stage and, on CUDA, its waits for the GPU
(`_step_stages`). Quality: F0.5
(best threshold) on the unlabelled three quarters of a 1024 x 1024 x 24 synthetic segment
after 60 s and 300 s of CPU training with default settings from labels on its top-left
quarter. ``--full-precision``: training
and the viewport in float32 (default: mixed precision where the hardware has it, as
`inkloop train`; predictions stay in it).
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
from _machine import machine
from _step_stages import step_stages

from inkloop.settings import TrainConfig

SIZE, LAYERS, SEED = 1024, 24, 21


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cache", type=Path, default=Path(".bench_cache"))
    parser.add_argument("--device", default="auto")
    parser.add_argument("--steps", type=int, default=20, help="timed steps per throughput figure")
    parser.add_argument("--skip-quality", action="store_true", help="throughput only")
    parser.add_argument("--batch-size", type=int, help="default: as training's, by the device")
    parser.add_argument(
        "--loader-workers", type=int, help="batch worker processes (default: as training's)"
    )
    parser.add_argument(
        "--full-precision", action="store_true", help="train and time the viewport in float32"
    )
    parser.add_argument(
        "--cuda-graphs", action="store_true", help="steps from CUDA graphs (throughput only)"
    )
    parser.add_argument(
        "--stages",
        action="store_true",
        help="also where a step's time goes on the host, and its waits for a CUDA GPU",
    )
    args = parser.parse_args()
    amp = not args.full_precision
    segment = synthetic_segment(args.cache)
    config = TrainConfig(
        device=args.device,
        batch_size=args.batch_size,
        amp=amp,
        loader_workers=args.loader_workers,
        cuda_graphs=args.cuda_graphs,
    )
    result = _throughput(segment, config, args.steps, args.stages)
    result["viewport_forward_s"] = _viewport_forward(result["device"], amp)
    result["viewport_forward_folded_s"] = _viewport_forward(result["device"], amp, folded=True)
    if not args.skip_quality:
        result["f05_60s"] = synthetic_quality(segment, 60.0, amp=amp)
        result["f05_300s"] = synthetic_quality(segment, 300.0, amp=amp)
    result["mixed_precision"] = amp
    result["cpu_threads"] = _threads()
    result["machine"] = machine()
    print(json.dumps(result))


def synthetic_segment(cache: Path):
    """bench_train's 24 x 1024 x 1024 synthetic segment, written into ``cache`` once."""
    from inkloop.io import open_segment
    from inkloop.synthetic import write_segment

    folder = cache / f"train_{LAYERS}x{SIZE}x{SIZE}_seed{SEED}"
    if not (folder / "layers").is_dir():
        write_segment(folder, SIZE, SIZE, LAYERS, SEED)
    return open_segment(folder)


def _parts(segment, quarter_only: bool):
    from inkloop.compose import Composition, sample_normalisation
    from inkloop.train import LabelStore

    composition = Composition().resolve(segment.shape[0])
    normalisation = sample_normalisation(segment, composition)
    ink, mask = np.asarray(segment.ink_labels), np.asarray(segment.mask)
    labelled = mask.copy()
    if quarter_only:
        labelled[SIZE // 2 :] = False
        labelled[:, SIZE // 2 :] = False
    return composition, normalisation, LabelStore(ink, labelled), ink, mask, labelled


def _throughput(segment, config: TrainConfig, steps: int, stages: bool, rounds: int = 3) -> dict:
    """Pipeline and ceiling step rates, measured in alternation ``rounds`` times (medians):
    on a shared VM the speed drifts by up to a third between minutes; ``stages``: then
    `step_stages` of the pipeline."""
    import torch

    from inkloop.train import Trainer, augment_batch

    composition, normalisation, labels, *_ = _parts(segment, quarter_only=True)
    trainer = Trainer(segment, labels, composition, normalisation, config)
    for _ in range(3):  # warm up: allocator, cudnn autotune, prefetch queue
        trainer.step()
    batch = trainer.batches().next()  # a real batch, augmented once, then reused as is
    tensors = [torch.from_numpy(a).to(trainer.device) for a in (batch.layers, batch.ink)]
    weight = torch.from_numpy(batch.weight).to(trainer.device)
    made = augment_batch(
        *tensors, weight, composition, trainer.config.augment, np.random.default_rng(0)
    )
    pipelines, ceilings = [], []
    for _ in range(rounds):
        trainer.close()  # no background sampling while the ceiling is timed
        ceilings.append(
            _rate(lambda: trainer.optimise(*made, lr=1e-4), steps, len(made[1]), trainer.device)
        )
        trainer.step()  # restarts the batch stream
        pipelines.append(_rate(trainer.step, steps, trainer.batch_size, trainer.device))
    timed_stages = step_stages(trainer, steps) if stages else None
    stream = trainer.batches()
    sampler, kind, rng = stream.sampler, type(stream).__name__, np.random.default_rng(0)
    trainer.close()  # its loader thread stops before this one is timed
    loader = _rate(lambda: sampler.batch(trainer.batch_size, rng), 50, trainer.batch_size, None)
    return {
        "samples_per_s": round(float(np.median(pipelines)), 2),
        "loader_patches_per_s": round(loader),
        "ceiling_samples_per_s": round(float(np.median(ceilings)), 2),
        "ratio": round(float(np.median(np.array(pipelines) / np.array(ceilings))), 3),
        "device": str(trainer.device),
        "rounds": {
            "samples_per_s": [round(r, 2) for r in pipelines],
            "ceiling": [round(c, 2) for c in ceilings],
        },
        "patch_size": trainer.config.patch_size,
        "batch_size": trainer.batch_size,
        "loader": kind,  # BatchStream (a thread) or ProcessBatchStream
        "cuda_graphs": trainer.config.cuda_graphs,
        **({"stages": timed_stages} if stages else {}),
    }


def _rate(step, steps: int, samples: int, device) -> float:
    step()  # one untimed: a fresh stream fills its queue, a fresh shape warms its kernels
    started = time.perf_counter()
    for _ in range(steps):
        step()
    _sync(device)
    return steps * samples / (time.perf_counter() - started)


def _viewport_forward(device: str, amp: bool, folded: bool = False) -> float:
    """Best of 3 forward passes of the default model over a 1024 x 1024 x 16-layer viewport,
    at the resolution the default composition gives the model (full: 1024² model pixels);
    ``folded``: its `inference_graph`."""
    import torch

    from inkloop.compose import Composition
    from inkloop.model import autocast, build_model
    from inkloop.predict import inference_graph
    from inkloop.settings import ModelConfig

    device = torch.device(device)
    side = 1024 // Composition().scale
    model = build_model(ModelConfig(in_channels=16), device).eval()
    model = (inference_graph(model) if folded else model).to(device)
    model = model.to(memory_format=torch.channels_last)
    inputs = torch.rand(1, 16, side, side, device=device)
    inputs = inputs.contiguous(memory_format=torch.channels_last)
    timings = []
    with torch.inference_mode(), autocast(device, amp):
        for _ in range(4):
            started = time.perf_counter()
            model(inputs)
            _sync(device)
            timings.append(time.perf_counter() - started)
    return round(min(timings[1:]), 3)


def synthetic_quality(segment, seconds: float, device: str = "cpu", **train) -> float:
    """Best-threshold F0.5 on the unlabelled three quarters after ``seconds`` of training
    with the default settings (``train``: TrainConfig fields to change) from the labels of
    the top-left quarter."""
    from inkloop.metrics import best_scores
    from inkloop.predict import Predictor
    from inkloop.train import Trainer

    composition, normalisation, labels, ink, mask, labelled = _parts(segment, quarter_only=True)
    config = TrainConfig(device=device, max_seconds=seconds, **train)
    trainer = Trainer(segment, labels, composition, normalisation, config)
    while not trainer.finished:
        trainer.step()
    trainer.close()
    predictor = Predictor(trainer.inference_model, composition, normalisation)
    probability = predictor.predict_region(segment, (0, 0, SIZE, SIZE), mask)
    unlabelled = mask & ~labelled
    return round(best_scores(probability, ink, unlabelled).f05, 4)


def _sync(device) -> None:
    import torch

    if device is not None and device.type == "cuda":
        torch.cuda.synchronize()


def _threads() -> int:
    import torch

    return torch.get_num_threads()


if __name__ == "__main__":
    main()
