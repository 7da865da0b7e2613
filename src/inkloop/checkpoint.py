"""Checkpoints: the weights with everything needed to predict, one file each."""

from __future__ import annotations

import io
import os
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from inkloop._checkpoint_checks import (
    counted,
    newer_format,
    not_finite,
    payload_problem,
    unpickling_problem,
    unreadable,
    zip_refusal,
)
from inkloop._checkpoint_checks import unreadable_checkpoint as unreadable_checkpoint
from inkloop._checkpoint_round import round_of as _round_of
from inkloop._errors import TrainingDivergedError
from inkloop.compose import Composition, Normalisation
from inkloop.io import atomic_path
from inkloop.model import build_model
from inkloop.settings import ModelConfig, TrainConfig

CHECKPOINT_FORMAT = "inkloop-checkpoint"
CHECKPOINT_VERSION = 1
CHECKPOINT_SUFFIXES = (".pt", ".pth", ".ckpt")  # what checkpoints are called; any name loads


@dataclass(frozen=True)
class Checkpoint:
    """Weights with the full recipe to predict: composition, normalisation, patch size, model;
    and how they were trained (``train``: the TrainConfig, None in checkpoints from before
    inkloop recorded it).

    ``normalisation`` is the range measured on the training segment (prediction on another
    segment measures its own with the same percentiles); ``provenance`` summarises the labels.
    ``source``: the file it was loaded from (None if it was made in memory); ``saved``: when
    that file was written, as it says (ISO 8601, UTC; local time without a zone before
    2026-12-07).
    """

    model: ModelConfig
    composition: Composition
    normalisation: Normalisation
    patch_size: int
    step: int
    state_dict: dict = field(repr=False)
    provenance: dict = field(default_factory=dict)
    train: TrainConfig | None = None
    logit_offset: float = 0.0  # subtracted from the logits: see Trainer.logit_offset
    layers: tuple[int, ...] = ()  # file numbers of the window's layers (`model_window`)
    source: Path | None = field(default=None, repr=False, compare=False)
    saved: str | None = field(default=None, repr=False, compare=False)

    @property
    def recipe(self) -> TrainConfig:
        """How it was trained: ``train``, or for checkpoints from before that was kept, its
        patch size."""
        return self.train or TrainConfig(patch_size=self.patch_size)

    def build(self):
        """The model with these weights, in eval mode, on the CPU; CheckpointError if they do
        not fit the model it records. The caller's torch random numbers stay as they were."""
        import torch

        # its initial weights, drawn and then replaced, would move the caller's seeded stream
        with torch.random.fork_rng(devices=[]):
            model = build_model(self.model)
        weights = _without_dropped_modules(self.state_dict, model)
        if misfit := _misfit(weights, model.state_dict()):
            where = self.source or "the checkpoint"
            raise CheckpointMisfitError(
                f"{where}: its weights do not fit its recorded model "
                f"({self.model.encoder} encoder): {misfit}"
            )
        model.load_state_dict(weights)
        return model.eval()


def _misfit(weights: dict, expected: dict) -> str:
    """How ``weights`` differ from a model's ``expected`` state dict ("" if they fit), with
    the first name of each kind."""
    missing = expected.keys() - weights.keys()
    unexpected = weights.keys() - expected.keys()
    shaped = {k for k in expected.keys() & weights.keys() if expected[k].shape != weights[k].shape}
    kinds = ((missing, "missing"), (unexpected, "not in the model"), (shaped, "of another shape"))
    return ", ".join(
        f"{len(names)} weights {kind} ({min(names)}{', ...' if len(names) > 1 else ''})"
        for names, kind in kinds
        if names
    )


def _without_dropped_modules(state_dict: dict, model) -> dict:
    """``state_dict`` less the weights of modules ``model`` holds as ``nn.Identity``.

    Checkpoints saved before `inkloop.shallow` left out the encoder modules the features do
    not depend on (efficientnet's head at any depth, a resnet's deepest stage at depth 4, and
    since 2026-12-06 efficientnet's and mobilenet_v2's at depth 4) still hold their weights;
    every other mismatch still fails the strict load."""
    from torch import nn

    dropped = tuple(
        f"{name}." for name, module in model.named_modules() if isinstance(module, nn.Identity)
    )
    return {key: value for key, value in state_dict.items() if not key.startswith(dropped)}


def save_checkpoint(path: str | Path, checkpoint: Checkpoint) -> Path:
    """Write the checkpoint as one file, atomically (a crash never leaves half a file).
    TrainingDivergedError, and nothing written, if a weight is not finite: a file there (the
    model a run continues in place, an earlier autosave) keeps what it held."""
    data = checkpoint_bytes(checkpoint)
    path = Path(path).expanduser()
    with atomic_path(path) as temp, open(temp, "wb") as stream:
        stream.write(data)
    return path


def checkpoint_bytes(checkpoint: Checkpoint) -> memoryview:
    """The file `save_checkpoint` writes, in memory: a full disk is then an OSError that says
    so, not the "unexpected pos" of torch's zip writer. TrainingDivergedError if a weight is
    not finite."""
    import torch

    if diverged := not_finite(checkpoint.state_dict):
        raise TrainingDivergedError(
            f"the model was not saved: {counted(diverged)} not finite, as training diverged"
        )
    payload = {
        "format": CHECKPOINT_FORMAT,
        "version": CHECKPOINT_VERSION,
        "saved": datetime.now(UTC).isoformat(timespec="seconds"),
        "model": checkpoint.model.to_dict(),
        "composition": checkpoint.composition.to_dict(),
        "normalisation": checkpoint.normalisation.to_dict(),
        "patch_size": checkpoint.patch_size,
        "step": checkpoint.step,
        "provenance": checkpoint.provenance,
        "train": None if checkpoint.train is None else checkpoint.train.to_dict(),
        "logit_offset": checkpoint.logit_offset,
        "layers": list(checkpoint.layers),
        "state_dict": {k: v.detach().cpu() for k, v in checkpoint.state_dict.items()},
    }
    buffer = io.BytesIO()
    torch.save(payload, buffer)
    return buffer.getbuffer()


def checkpoint_file(path: str | Path) -> Path:
    """``path``, expanded, if it is a file; else FileNotFoundError saying so (a folder: with
    the checkpoints it holds)."""
    path = Path(path).expanduser()
    if path.is_dir():
        inside = sorted(p.name for p in path.iterdir() if p.suffix in CHECKPOINT_SUFFIXES)
        hint = f": it holds {', '.join(inside[:3])}" if inside else ""
        raise FileNotFoundError(f"{path}: is a folder; give a checkpoint file{hint}")
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such checkpoint file")
    return path


class CheckpointError(ValueError):
    """A file that is not a checkpoint this inkloop can read."""


class CheckpointMisfitError(CheckpointError, RuntimeError):
    """Weights that do not fit the model their checkpoint records (a RuntimeError too, as
    torch's strict load raised before this was checked)."""


def load_checkpoint(path: str | Path) -> Checkpoint:
    """Read a checkpoint written by `save_checkpoint` (weights only: no code is unpickled);
    CheckpointError, naming the file, for one that is not or is damaged."""
    path = checkpoint_file(path)
    if problem := zip_refusal(path):
        raise CheckpointError(f"{path}: {problem}")
    payload = _unpickled(path)
    if not isinstance(payload, dict) or payload.get("format") != CHECKPOINT_FORMAT:
        raise CheckpointError(f"{path}: {payload_problem(payload)}")
    if payload.get("version", 0) > CHECKPOINT_VERSION:
        raise CheckpointError(f"{path}: {newer_format(payload, CHECKPOINT_VERSION)}")
    try:
        checkpoint = _checkpoint(payload, path)
        damaged = not_finite(checkpoint.state_dict)
    except (KeyError, TypeError, ValueError, AttributeError) as error:
        raise CheckpointError(f"{path}: a damaged inkloop checkpoint ({error!r})") from error
    if damaged:
        raise CheckpointError(f"{path}: damaged: {counted(damaged)} not finite")
    return checkpoint


def _unpickled(path: Path):
    """What `torch.load` reads from ``path`` (CPU tensors, no code run); CheckpointError for
    a file it cannot read."""
    import torch

    try:  # never a TorchScript zip (`zip_refusal`), of which torch would warn
        return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:
        raise CheckpointError(f"{path}: {unreadable(unpickling_problem(error))}") from error


def _checkpoint(payload: dict, source: Path) -> Checkpoint:
    return Checkpoint(
        model=ModelConfig.from_dict(payload["model"]),
        # checkpoints from before `scale` existed were trained at full resolution
        composition=Composition(**{"scale": 1, **payload["composition"]}),
        normalisation=Normalisation.from_dict(payload["normalisation"]),
        patch_size=int(payload["patch_size"]),
        step=int(payload["step"]),
        state_dict=payload["state_dict"],
        provenance=payload["provenance"],
        train=TrainConfig.from_dict(payload["train"]) if payload.get("train") else None,
        logit_offset=float(payload.get("logit_offset", 0.0)),  # 0 before calibration existed
        layers=tuple(int(n) for n in payload.get("layers", ())),  # () before they were kept
        source=source,
        saved=payload.get("saved"),
    )


def describe_checkpoint(path: str | Path) -> dict:
    """What a checkpoint holds, JSON-ready (for `inkloop info MODEL.pt`)."""
    checkpoint = load_checkpoint(path)
    # the model's trainable weights: not BatchNorm statistics, nor the weights of modules an
    # old checkpoint still holds that the model leaves out (`_without_dropped_modules`)
    parameters = sum(int(weight.numel()) for weight in checkpoint.build().parameters())
    return {
        "path": str(Path(path).expanduser()),
        "saved": checkpoint.saved,
        "step": checkpoint.step,
        "model": {**checkpoint.model.to_dict(), "parameters": parameters},
        "composition": checkpoint.composition.to_dict(),
        "normalisation": checkpoint.normalisation.to_dict(),
        "patch_size": checkpoint.patch_size,
        "logit_offset": checkpoint.logit_offset,
        "layers": list(checkpoint.layers),
        "train": None if checkpoint.train is None else checkpoint.train.to_dict(),
        "provenance": checkpoint.provenance,
        "round": _round_of(checkpoint, Path(path)),
    }


def same_file(a: str | Path, b: str | Path) -> bool:
    """Whether ``a`` and ``b`` name one file: the same path, or links to one (hard links and
    bind mounts too, where both are there to ask)."""
    a, b = Path(a).expanduser(), Path(b).expanduser()
    try:
        return os.path.samefile(a, b)
    except OSError:  # one of them is missing
        return a.resolve() == b.resolve()
