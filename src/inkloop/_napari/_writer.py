"""Writer contribution: napari's "Save layer" on "ink labels" writes the community's files."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from inkloop._napari._label_claims import session_of_layer_data
from inkloop._napari._labels import LABELS_KEY
from inkloop._napari._say import say_error
from inkloop.brush import decode_labels
from inkloop.io import write_label_files


def write_ink_labels(path: str, data, attributes: dict) -> list[str]:
    """Write ``path`` (ink strength, 255 = ink; ``.png`` added if it has no extension) and
    its ``*_supervision_mask.png`` beside it. The labels a dock paints, saved as its segment's
    own label files, go through the dock's Save: its autosaved copies are then stale.

    Other layers, and saves the dock refuses or fails, are said once and return nothing
    written (napari hides a writer's ValueError behind "not a valid writer", and shows an
    OSError a second time, with a traceback).
    """
    codes = np.asarray(data)
    name = attributes.get("name", "this layer")
    if LABELS_KEY not in attributes.get("metadata", {}) or codes.ndim != 2:
        say_error(
            f"{name} was not saved: it is not Ink Loop soft labels (a segment's 'ink labels'); "
            "save it with napari's own writers"
        )
        return []
    target = Path(path) if Path(path).suffix else Path(path).with_suffix(".png")
    session = session_of_layer_data(data, target)
    if session is not None:
        return _save_as_the_dock(session)
    try:
        ink, supervised = decode_labels(codes)
    except ValueError as error:
        say_error(f"{name} was not saved: {error}")
        return []
    return [str(written) for written in write_label_files(target, ink, supervised)]


def _save_as_the_dock(session) -> list[str]:
    """The dock's Save of ``session``: its paths, or none where it was refused or failed
    (the dock said why: labels another viewer paints, a full disk, a read-only folder)."""
    try:
        return [str(written) for written in session.save().result()]
    except OSError:
        return []
