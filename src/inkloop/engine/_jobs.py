"""The engine's bigger requests: whole-segment predictions and the model input of a region.

A whole-segment prediction is a dask graph computed on the engine's worker thread, one task
at a time; between two tasks it hands the thread back to the engine (``between_tasks``),
which applies waiting commands, runs previews and, while training runs, training steps. So
no command waits for more than one block, and `JobInterruptedError` raised there ends it.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from inkloop.engine._commands import RequestError
from inkloop.engine._events import Composed, Notice, SegmentPredicted, SegmentProgress
from inkloop.io._prediction_metadata import foreign_file

MAX_COMPOSE = 2048  # pixels per side of a composed region (C float32 channels cross a pipe)
PROGRESS_EVERY = 0.25  # seconds between two SegmentProgress events


class JobInterruptedError(Exception):
    """Raised between two tasks to end a whole-segment prediction (cancel or close)."""


@dataclass
class SegmentJob:
    """A whole-segment prediction asked for: queued, then run with the weights of its start."""

    request: int
    out: Path
    tta: bool
    replace: bool = False  # the user confirmed replacing a file at ``out`` inkloop did not write
    cancelled: bool = False

    def refuse_foreign(self) -> None:
        """RequestError if ``out`` holds a file inkloop did not write (`foreign_file`) and
        the user did not confirm replacing it."""
        if not self.replace and foreign_file(self.out):
            raise RequestError(
                f"{self.out} exists and inkloop did not record writing it (another tool's "
                "prediction, or one from inkloop before 2026-12-05?), so it is kept: predict "
                "into another file, or confirm replacing it"
            )

    def run(self, predictor, segment, mask, block: int, model: dict, emit, between_tasks) -> None:
        """Predict ``segment`` into ``out`` in blocks of ``block`` pixels, emitting progress,
        then SegmentPredicted; a Notice if cancelled. ``model``: the predictor's model as the
        file records it (`Session.live_model`: its step and run). ``between_tasks()`` is
        called after every dask task and may raise JobInterruptedError."""
        from inkloop.predict import predict_into

        self.refuse_foreign()  # again: a file may have come there while the job waited
        started = time.monotonic()
        progress = _task_progress(self.request, emit, between_tasks)
        options = {"mask": mask, "progress": progress, "workers": 1, "block": block}
        try:
            predict_into(predictor, segment, self.out, model=model, **options)
        except JobInterruptedError:
            if self.cancelled:
                emit(self.cancelled_notice())
            return
        took = time.monotonic() - started
        emit(SegmentPredicted(self.request, str(self.out), took, model["step"]))

    def cancelled_notice(self) -> Notice:
        """What the user is told when this prediction is cancelled (it ends with this)."""
        return Notice(f"the whole-segment prediction into {self.out} was cancelled", self.request)


def _task_progress(request: int, emit: Callable, between_tasks: Callable):
    """A dask Callback emitting SegmentProgress (tasks done of all) and calling
    ``between_tasks`` after each task, on the thread running the graph."""
    from dask.callbacks import Callback

    class TaskProgress(Callback):
        last = 0.0

        def _posttask(self, key, result, dsk, state, worker_id) -> None:
            done = len(state["finished"])
            total = done + sum(len(state[k]) for k in ("ready", "waiting", "running"))
            now = time.monotonic()
            if done == total or now - self.last >= PROGRESS_EVERY:
                self.last = now
                emit(SegmentProgress(request, done, total))
            between_tasks()

    return TaskProgress()


def compose_region(trainer, segment, region, request: int) -> Composed:
    """The normalised channels the model sees over ``region`` (MAX_COMPOSE² pixels at most),
    at full resolution: a model at half (quarter) resolution sees their 2 x 2 (4 x 4) means."""
    import torch

    from inkloop.compose import compose_channels
    from inkloop.predict import check_region

    y0, x0, y1, x1 = region = check_region(region, segment.shape[1:])
    if (y1 - y0) * (x1 - x0) > MAX_COMPOSE**2:
        side = MAX_COMPOSE
        raise RequestError(f"region {region} is larger than {side} x {side} pixels; choose less")
    composition, depth = trainer.composition, segment.shape[0]
    raw = segment.read(composition.layer_indices(depth), slice(y0, y1), slice(x0, x1))
    layers = torch.from_numpy(trainer.normalisation.apply(raw))
    channels = compose_channels(layers, composition).numpy().astype(np.float32, copy=False)
    return Composed(request, region, channels, channel_names(composition, depth))


def channel_names(composition, depth: int) -> tuple[str, ...]:
    """A short name per model input channel: "layer 24", "mean 22-24", "|L25-L24|"."""
    layers = composition.layer_indices(depth).tolist()
    if composition.mode == "mean":
        k = composition.mean_k
        return tuple(f"mean {layers[i]}-{layers[i + k - 1]}" for i in range(0, len(layers), k))
    raw = [f"layer {z}" for z in layers]
    diffs = [f"|L{b}-L{a}|" for a, b in itertools.pairwise(layers)]
    return tuple({"raw": raw, "diff": diffs, "raw+diff": raw + diffs}[composition.mode])
