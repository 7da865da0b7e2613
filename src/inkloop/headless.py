"""Headless training (`inkloop train`): labels from files, progress bar, Ctrl+C keeps the model."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import numpy as np

from inkloop.engine import (
    CheckpointSaved,
    Engine,
    EngineSettings,
    Failed,
    Notice,
    StepDone,
    Validated,
)


def load_labels(segment, labels: Path | None = None, supervision: Path | None = None):
    """Ink labels (uint8) and supervision (bool) for ``segment``, with where they came from.

    Labels default to the segment's own ``*_inklabels.png``. Supervision: the given mask, else
    the segment's ``*_supervision_mask.png`` when its own labels are used, else the papyrus
    mask, else every pixel.
    """
    from inkloop.io import read_label_image

    shape = segment.shape[1:]
    if labels is not None:
        ink = read_label_image(labels, shape, ink=True)
    elif segment.ink_labels is not None:
        ink, labels = np.asarray(segment.ink_labels), segment.files["ink_labels"]
    else:
        raise ValueError(f"{segment.path}: the segment has no ink labels; pass --labels INK.png")
    if supervision is not None:
        supervised = read_label_image(supervision, shape, ink=False)
    elif segment.supervision is not None and labels == segment.files.get("ink_labels"):
        supervised, supervision = np.asarray(segment.supervision), segment.files["supervision"]
    elif segment.mask is not None:
        supervised, supervision = np.asarray(segment.mask), segment.files["mask"]
    else:
        supervised = np.ones(shape, bool)
    sources = {"labels_file": str(labels), "supervision_file": str(supervision or "all pixels")}
    return ink, supervised, sources


def check_writable(path: Path) -> None:
    """Fail now, not after an hour of training, if ``path`` cannot be written."""
    folder = path.expanduser().resolve().parent
    if path.is_dir():
        raise ValueError(f"{path}: is a folder; give a file name such as model.pt")
    if not folder.is_dir():
        raise ValueError(f"{folder}: folder does not exist")
    if not os.access(folder, os.W_OK):
        raise ValueError(f"{folder}: cannot write here")


def train_to_file(
    segment, ink, supervised, settings: EngineSettings, out: Path, *, progress: bool = True
) -> dict:
    """Train until the run's limit (or Ctrl+C), then write the checkpoint to ``out``.

    Returns a summary: steps, final loss, validation scores, whether it was interrupted.
    Raises LabelError before training if the labels cannot train, RuntimeError if training
    failed (the last good weights are still written to ``out`` first).
    """
    from inkloop.model import pick_device

    check_writable(out)
    pick_device(settings.train.device)  # an unavailable device fails here, not in the worker
    report = _Report(progress, settings.train.max_steps, settings.train.max_seconds)
    with Engine(segment, ink, supervised, settings, on_event=report) as engine:
        engine.start()
        try:
            while not engine.wait(timeout=0.5):  # short waits: Ctrl+C gets through
                pass
        except KeyboardInterrupt:
            report.summary["interrupted"] = True
            engine.stop()
            engine.wait()
        if engine.trainer is not None:  # None: it failed before there was a model to save
            engine.save(out)
    report.close()
    if report.failures:
        raise RuntimeError("; ".join(dict.fromkeys(report.failures)))
    return report.summary


class _Report:
    """Turns engine events into a tqdm bar on stderr and a summary."""

    def __init__(self, progress: bool, max_steps: int | None, max_seconds: float | None) -> None:
        from tqdm import tqdm

        self.by_time = not max_steps
        total = max_steps or max_seconds
        unit = "s" if self.by_time else "step"
        self.bar = tqdm(total=total, unit=unit, disable=not progress, file=sys.stderr)
        self.summary: dict = {"steps": 0, "loss": None, "interrupted": False}
        self.failures: list[str] = []

    def __call__(self, event) -> None:
        if isinstance(event, StepDone):
            self._step(event)
        elif isinstance(event, Validated):
            self.summary["validation"] = {"step": event.step, "f05": event.f05}
            self.bar.write(f"step {event.step}: validation F0.5 {event.f05:.3f}")
        elif isinstance(event, Notice):
            self.bar.write(event.message)
        elif isinstance(event, CheckpointSaved):
            self.summary["checkpoint"] = event.path
        elif isinstance(event, Failed):
            self.failures.append(event.message)

    def close(self) -> None:
        self.bar.close()

    def _step(self, event: StepDone) -> None:
        self.summary.update(steps=event.step, loss=event.loss)
        self.bar.update(event.batch_size / event.samples_per_s if self.by_time else 1)
        self.bar.set_postfix(
            step=event.step,
            loss=f"{event.loss:.3f}",
            lr=f"{event.lr:.1e}",
            patches_s=f"{event.samples_per_s:.1f}",
            refresh=False,
        )
