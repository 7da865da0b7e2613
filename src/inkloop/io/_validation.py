"""A segment's validation region, kept beside its labels as ``<id>_validation_region.json``:
the labels inside it stay out of training and are scored, across sessions too."""

from __future__ import annotations

import json
from pathlib import Path

from inkloop.boxes import Box, check_box
from inkloop.io._segment import as_segment
from inkloop.io._sidefiles import side_folder
from inkloop.io._write import atomic_path

VALIDATION_KEY = "validation_region"  # the file's one key: [y0, x0, y1, x1]


def validation_path(segment) -> Path:
    """Where ``segment``'s validation region is kept (beside its labels); ``segment``: a
    Segment, or its path or URL (so for `save_validation_region` and `read_validation_region`)."""
    segment = as_segment(segment)
    return side_folder(segment) / f"{segment.name}_validation_region.json"


def save_validation_region(segment, box: Box | None) -> Path:
    """Keep ``box`` = (y0, x0, y1, x1) as ``segment``'s validation region (written
    atomically), or, for None, remove the region kept; the file's path. Raises OSError."""
    path = validation_path(segment)
    if box is None:
        path.unlink(missing_ok=True)
        return path
    with atomic_path(path) as part:
        Path(part).write_text(json.dumps({VALIDATION_KEY: [int(v) for v in box]}) + "\n")
    return path


def read_validation_region(segment) -> Box | None:
    """The validation region kept for ``segment``, or None if none is. A file that holds no
    region of this segment raises ValueError naming it (and OSError if unreadable).
    ``segment``: a Segment, or its path or URL."""
    segment = as_segment(segment)
    path = validation_path(segment)
    if not path.is_file():
        return None
    try:
        box = [int(v) for v in json.loads(path.read_text())[VALIDATION_KEY]]
    except (KeyError, TypeError, ValueError) as error:  # JSONDecodeError is a ValueError
        raise ValueError(
            f'{path}: holds no validation region ({{"{VALIDATION_KEY}": [y0, x0, y1, x1]}})'
        ) from error
    if len(box) != 4:
        raise ValueError(f"{path}: a validation region is [y0, x0, y1, x1], not {box}")
    try:
        return check_box(box, segment.shape[-2:], "the validation region", "segment")
    except ValueError as error:
        raise ValueError(f"{path}: {error}") from None
