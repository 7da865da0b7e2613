"""Sample data contribution: the bundled synthetic segment, opened through the reader."""

from __future__ import annotations

from inkloop._napari._reader import read_segment
from inkloop.io import sample_segment_path


def make_sample_segment() -> list[tuple]:
    """Layers of the bundled synthetic segment (volume, papyrus mask, ink labels)."""
    return read_segment(str(sample_segment_path()))
