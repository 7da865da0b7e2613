"""Ink labels in the scroll community's files: ``<id>_inklabels.png`` (255 x strength) and
``<id>_supervision_mask.png`` (255 = labelled), plus autosaved copies of the same."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from inkloop.io._segment import read_label_image
from inkloop.io._write import write_png

AUTOSAVE = ".autosave"


def label_paths(segment, *, autosave: bool = False) -> tuple[Path, Path]:
    """Where ``segment``'s ink labels and supervision mask are saved (beside its mask)."""
    folder = segment.sidecar_folder or Path(segment.path).parent
    tag = AUTOSAVE if autosave else ""
    return (
        folder / f"{segment.name}_inklabels{tag}.png",
        folder / f"{segment.name}_supervision_mask{tag}.png",
    )


def save_labels(segment, ink: np.ndarray, supervised: np.ndarray, *, autosave: bool = False):
    """Write both label files atomically (each via a temporary file and a rename)."""
    ink_path, supervision_path = label_paths(segment, autosave=autosave)
    shape = tuple(segment.shape[1:])
    if ink.shape != shape or supervised.shape != shape:
        raise ValueError(f"labels {ink.shape} do not match the segment's {shape}")
    write_png(ink_path, np.asarray(ink, np.uint8))
    write_png(supervision_path, np.asarray(supervised, bool).astype(np.uint8) * 255)
    return ink_path, supervision_path


def autosaved_labels(segment) -> tuple[Path, Path] | None:
    """The autosaved label files if they are newer than the saved ones (a crash to recover)."""
    autosaved, saved = label_paths(segment, autosave=True), label_paths(segment)
    if not all(path.is_file() for path in autosaved):
        return None
    newest_saved = max((p.stat().st_mtime_ns for p in saved if p.is_file()), default=-1)
    return autosaved if autosaved[0].stat().st_mtime_ns > newest_saved else None


def load_labels(segment, labels: Path | None = None, supervision: Path | None = None):
    """Ink labels (uint8) and supervision (bool) for ``segment``, with where they came from.

    Labels default to the segment's own ``*_inklabels.png``. Supervision: the given mask, else
    the segment's ``*_supervision_mask.png`` when its own labels are used, else the papyrus
    mask (as the Kaggle and Grand Prize data expect), else every pixel.
    """
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
