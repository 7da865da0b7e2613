"""Sample data contribution: a copy of the bundled synthetic segment, through the reader."""

from __future__ import annotations

from inkloop._napari._reader import read_segment
from inkloop.io import sample_copy


def make_sample_segment() -> list[tuple]:
    """Layers of a scratch copy of the bundled synthetic segment (volume, papyrus mask, ink
    labels): what the user paints, saves and trains is written beside the copy."""
    return read_segment(str(sample_copy()))
