"""The small synthetic segment bundled with the package."""

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
        f"`inkloop synth sample_data/{SAMPLE_NAME}` (see sample_data/README.md)"
    )
