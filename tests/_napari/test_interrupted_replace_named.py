"""A segment reopened after a Replace that never finished (napari killed before the new
prediction landed) names where its prediction went: no file is at its own name, and the
earlier ones kept as .saved- copies are said, where they are and the one last written, with
no promise that one renamed back is offered: another tool's is not (review C17 finding 4,
C22 finding 4)."""

from __future__ import annotations

import os

import numpy as np
from napari.utils.notifications import notification_manager
from PIL import Image

from inkloop.io import prediction_path
from inkloop.io._sidefiles import kept_copy_path
from tests._napari._gui import messages


def _kept(segment, written: float):
    """Another tool's prediction PNG at ``segment``'s own name, last written at ``written``
    (seconds since the epoch), then moved aside as Replace moves it; its kept name."""
    out = prediction_path(segment, "png")
    Image.fromarray(np.zeros((8, 8), np.uint8)).save(out)
    os.utime(out, (written, written))
    kept = kept_copy_path(out)
    out.rename(kept)
    return kept


def test_a_prediction_moved_aside_by_an_unfinished_replace_is_named(open_in_dock, segment_folder):
    from inkloop.io import open_segment

    segment = open_segment(segment_folder)
    _kept(segment, 1.7e9)
    newest = _kept(segment, 1.8e9)  # the Replace napari was killed in
    since = len(notification_manager.records)

    open_in_dock(segment_folder)

    said = [m for m in messages(since) if ".saved-" in m]
    assert len(said) == 1, messages(since)
    assert f"{segment.name}: no whole-segment prediction under its own name" in said[0]
    assert f"2 earlier ones are kept beside it in {newest.parent} as .saved- copies" in said[0]
    assert f"the one last written is {newest.name}" in said[0]
    assert f"rename it back to {segment.name}_prediction.png if it is the one to keep" in said[0]
    assert "offered" not in said[0]  # another tool's file is not, even renamed back
