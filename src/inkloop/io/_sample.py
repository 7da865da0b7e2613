"""The small synthetic segment bundled with the package, and where synthetic truth is kept."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

SAMPLE_NAME = "synthetic_sample"
SAMPLE_DATA = Path(__file__).resolve().parents[1] / "sample_data"


def sample_segment_path() -> Path:
    """Folder of the sample segment bundled in the package (``inkloop/sample_data``)."""
    folder = SAMPLE_DATA / SAMPLE_NAME
    if not folder.is_dir():
        raise FileNotFoundError(
            f"the sample segment '{SAMPLE_NAME}' is missing from {folder.parent}; make it "
            "with the command in its README.md"
        )
    return folder


def sample_copy() -> Path:
    """A scratch copy of the bundled sample, in a new temporary folder: labels, their
    autosave, rounds and checkpoints are written beside a segment, and the installed
    package's folder is no place for them."""
    copy = Path(tempfile.mkdtemp(prefix="inkloop-sample-")) / SAMPLE_NAME
    shutil.copytree(sample_segment_path(), copy)
    return copy


def in_package_data(path: str | Path) -> bool:
    """Whether ``path`` is inside the package's own sample data, where nothing is written
    (it is part of an installation, shared by every user of it)."""
    return Path(path).resolve().is_relative_to(SAMPLE_DATA)


def truth_path(folder: str | Path, name: str | None = None) -> Path:
    """``folder/<name>_truth.png``: a synthetic segment's true ink (255 = ink), kept under a
    name the label loader does not pick up, so its labels can be a user's strokes instead."""
    folder = Path(folder)
    return folder / f"{name or folder.name}_truth.png"


def sample_truth_path() -> Path:
    """The bundled sample's true ink map (its labels are only the demo's example strokes)."""
    return truth_path(sample_segment_path())
