"""The autosave copies, written every few seconds while painting, are compressed at zlib's
fastest level (a third to a half less time than PIL's default: seconds on a whole segment);
Save labels writes the files people keep at the default."""

from __future__ import annotations

import struct
from pathlib import Path

from inkloop.io import label_paths, open_segment
from tests._napari._fakes import ink_stroke

FASTEST, DEFAULT = 0, 2  # zlib's FLEVEL: levels 0-1 and 6


def _zlib_level(png: Path) -> int:
    """The FLEVEL of the zlib stream in ``png``'s first IDAT chunk (RFC 1950)."""
    data, at = png.read_bytes(), 8
    while True:
        (length,), kind = struct.unpack(">I", data[at : at + 4]), data[at + 4 : at + 8]
        if kind == b"IDAT":
            return data[at + 9] >> 6
        at += 12 + length


def test_autosave_copies_are_written_fast_and_saved_labels_as_before(painting, unlabelled_folder):
    _, widget = painting
    labels = widget.labels
    ink_stroke(labels.painter, 80, 80)

    labels.autosaver.save_if_changed().result(timeout=10)
    autosaved = label_paths(open_segment(unlabelled_folder), autosave=True)
    assert [_zlib_level(path) for path in autosaved] == [FASTEST, FASTEST]

    saved = labels.save().result(timeout=10)
    assert [_zlib_level(path) for path in saved] == [DEFAULT, DEFAULT]
