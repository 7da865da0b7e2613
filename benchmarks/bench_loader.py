"""The batch loaders against a stand-in of a GPU step, on the CPU; prints one JSON object.

    python benchmarks/bench_loader.py [--cache DIR] [--rounds 7]

A GPU step is mostly its Python launching kernels, each launch letting the GIL go for a few
microseconds. The stand-in: one thread dispatching OPS tiny torch operations (one CPU
thread; each lets the GIL go as a launch does) and taking one batch a step, as
`Trainer.step` does. For each loader, batches of 8 and of 32 x 64² from 20 layers of
bench_train's synthetic segment: the stand-in's step rate with it, as a share of its rate
without a loader (``share``; medians over ``--rounds``, each loader timed between two
loader-free runs, the order alternated, so a VM's drift hits all alike). OPS makes the
stand-in's step longer than one worker takes to make its batch (on this machine's two cores
one worker is all there is room for): the figure is what the loader costs the step through
the GIL, not whether one worker keeps up.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
from _machine import machine
from bench_train import _parts, synthetic_segment

STEPS = 40
OPS = {8: 6000, 32: 16000}  # stand-in ops a step, per batch size


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cache", type=Path, default=Path(".bench_cache"))
    parser.add_argument("--rounds", type=int, default=7)
    args = parser.parse_args()
    import torch

    from inkloop.train import BatchStream, PatchSampler, ProcessBatchStream

    torch.set_num_threads(1)
    segment = synthetic_segment(args.cache)
    composition, normalisation, labels, *_ = _parts(segment, quarter_only=True)
    sampler = PatchSampler(
        segment, composition, normalisation, labels, patch_size=64, z_margin=2, ink_share=0.5
    )
    result = {}
    for batch, ops in OPS.items():
        loaders = {
            "thread": BatchStream(sampler, batch, threads=1),
            "process": ProcessBatchStream(sampler, batch, workers=1),
        }
        try:
            shares = _shares(loaders, ops, args.rounds)
        finally:
            for loader in loaders.values():
                loader.close()
        result[f"batch_{batch}"] = {
            "ops_per_step": ops,
            **{f"{name}_share": round(float(np.median(s)), 3) for name, s in shares.items()},
            "rounds": {name: [round(x, 3) for x in s] for name, s in shares.items()},
        }
    result["machine"] = machine()
    print(json.dumps(result))


def _shares(loaders: dict, ops: int, rounds: int) -> dict[str, list[float]]:
    shares = {name: [] for name in loaders}
    for index in range(rounds):
        order = list(loaders.items())[:: 1 if index % 2 else -1]
        before = _rate(None, ops)
        for name, loader in order:
            rate = _rate(loader, ops)
            after = _rate(None, ops)
            shares[name].append(rate / ((before + after) / 2))
            before = after
    return shares


def _rate(loader, ops: int) -> float:
    """Stand-in steps a second, with a batch from ``loader`` a step (None: no loader)."""
    import torch

    x, y = torch.zeros(64), torch.ones(64)

    def step():
        if loader is not None:
            torch.from_numpy(loader.next().layers).clone()  # as the copy to a device
        for _ in range(ops):
            torch.add(x, y, out=x)

    for _ in range(3):
        step()
    started = time.perf_counter()
    for _ in range(STEPS):
        step()
    return STEPS / (time.perf_counter() - started)


if __name__ == "__main__":
    main()
