"""Writer contribution: napari's "Save layer" on "ink labels" writes the community's files."""

from __future__ import annotations

import numpy as np

from inkloop.brush import decode_labels
from inkloop.io import write_label_files


def write_ink_labels(path: str, data, attributes: dict) -> list[str]:
    """Write ``path`` (ink strength, 255 = ink) and its ``*_supervision_mask.png`` beside it."""
    codes = np.asarray(data)
    if codes.dtype != np.uint16 or codes.ndim != 2:
        raise ValueError(
            f"{attributes.get('name', 'this layer')} is not Ink Loop soft labels "
            f"(2-D label codes); save it with napari's own writers"
        )
    return [str(written) for written in write_label_files(path, *decode_labels(codes))]
