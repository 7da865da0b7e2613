"""The small synthetic segment bundled with the package, and where synthetic truth is kept."""

from __future__ import annotations

from pathlib import Path

SAMPLE_NAME = "synthetic_sample"


def sample_segment_path() -> Path:
    """Folder of the bundled sample segment (inside the wheel, or the repo's ``sample_data/``)."""
    package = Path(__file__).resolve().parents[1]
    for root in (package / "sample_data", package.parents[1] / "sample_data"):
        if (root / SAMPLE_NAME).is_dir():
            return root / SAMPLE_NAME
    raise FileNotFoundError(
        f"the sample segment '{SAMPLE_NAME}' is missing; make it with "
        f"the command in sample_data/README.md"
    )


def truth_path(folder: str | Path, name: str | None = None) -> Path:
    """``folder/<name>_truth.png``: a synthetic segment's true ink (255 = ink), kept under a
    name the label loader does not pick up, so its labels can be a user's strokes instead."""
    folder = Path(folder)
    return folder / f"{name or folder.name}_truth.png"


def sample_truth_path() -> Path:
    """The bundled sample's true ink map (its labels are only the demo's example strokes)."""
    return truth_path(sample_segment_path())
