"""Where a training step's time goes on the host, and how often it waits for the GPU.

`step_stages` times a running `Trainer` with `_thread_time.thread_seconds` (a profiler may
not attach on a device machine) and, on CUDA, counts the step's waits for the GPU with
torch's synchronisation debug mode, by the line of Python that waited.
"""

from __future__ import annotations

import collections
import contextlib
import time
import warnings
from pathlib import Path

from _thread_time import thread_seconds


def step_stages(trainer, steps: int) -> dict:
    """Milliseconds per step in each stage of ``steps`` more steps of ``trainer``, which has
    run already (warm kernels, a full batch queue), summed over threads (a loader thread
    samples beside the step); the wall milliseconds per step; and on CUDA the waits for the
    GPU per step and where they were."""
    from inkloop.train import Trainer, _loop
    from inkloop.train._calibration import WindowCalibration

    targets = {
        "next_batch": (type(trainer.batches()), "next"),
        "to_device": (Trainer, "to_device"),
        "augment": (_loop, "augment_batch"),
        "optimise": (Trainer, "optimise"),
        "calibration": (WindowCalibration, "measure"),
    }
    with _gpu_waits(trainer.device) as waits, thread_seconds(targets) as report:
        started = time.perf_counter()
        for _ in range(steps):
            trainer.step()
        wall = time.perf_counter() - started
    result = {name: round(1000 * report[name]["seconds"] / steps, 2) for name in targets}
    result["wall"] = round(1000 * wall / steps, 2)
    stages = {"ms_per_step": result, "steps": steps}
    if trainer.device.type == "cuda":
        stages["gpu_waits_per_step"] = round(sum(waits.values()) / steps, 2)
        stages["gpu_waits_at"] = dict(waits.most_common())
    return stages


@contextlib.contextmanager
def _gpu_waits(device):
    """A Counter of the block's waits for a CUDA device by "file:line" (empty elsewhere)."""
    import torch

    waits: collections.Counter = collections.Counter()
    if device.type != "cuda":
        yield waits
        return
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        torch.cuda.set_sync_debug_mode("warn")
        try:
            yield waits
        finally:
            torch.cuda.set_sync_debug_mode("default")
    for warning in caught:
        if "called a synchronizing CUDA operation" in str(warning.message):
            waits[f"{Path(warning.filename).name}:{warning.lineno}"] += 1
