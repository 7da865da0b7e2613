"""Labels inkloop did not write (a download's ground truth, a colleague's GIMP file) are never
written over: labels painted on them are saved as their next version, which opens next."""

from __future__ import annotations

import hashlib

import numpy as np
import pytest
from PIL import Image

from inkloop._notify import InkloopWarning
from inkloop.io import initial_labels, label_paths, open_segment, save_labels, write_png
from tests._helpers import band

ID = "20231012184423"  # the segment_folder fixture's


@pytest.fixture
def community(segment_folder):
    """The segment with its ink labels as another tool saves them: RGBA, no inkloop text."""
    ink = segment_folder / f"{ID}_inklabels.png"
    grey = np.asarray(Image.open(ink).convert("L"))
    Image.fromarray(np.dstack([grey] * 3 + [np.full_like(grey, 255)]), "RGBA").save(ink)
    return segment_folder, ink


def _digest(path) -> str:
    return hashlib.md5(path.read_bytes()).hexdigest()


def test_a_save_over_another_tools_labels_writes_their_next_version(community):
    folder, ink = community
    before = _digest(ink)
    segment = open_segment(folder)
    painted = band(10, 20)

    saved = save_labels(segment, painted, np.ones_like(painted, bool))

    assert saved == (folder / f"{ID}_inklabels_v2.png", folder / f"{ID}_supervision_mask_v2.png")
    assert _digest(ink) == before  # still RGBA, untouched
    assert not (folder / f"{ID}_supervision_mask.png").exists()
    reopened = open_segment(folder)
    assert reopened.files["ink_labels"] == saved[0]
    assert np.array_equal(np.asarray(reopened.ink_labels), painted)
    assert label_paths(reopened) == saved  # inkloop's own version: saved into again


def test_opening_another_tools_labels_says_where_painted_labels_go(community):
    folder, _ = community
    with pytest.warns(InkloopWarning) as said:
        initial_labels(open_segment(folder))
    assert [str(w.message) for w in said] == [
        f"{ID}: opened {ID}_inklabels.png, not written by inkloop, which leaves it as it is: "
        f"painted labels are saved to {ID}_inklabels_v2.png and {ID}_supervision_mask_v2.png, "
        "which inkloop opens from then on"
    ]


def test_labels_inkloop_wrote_are_saved_into_in_place(segment_folder):
    segment = open_segment(segment_folder)
    first = save_labels(segment, band(0, 8), np.ones((64, 96), bool))  # the fixture's, inkloop's
    again = save_labels(open_segment(segment_folder), band(5, 9), np.ones((64, 96), bool))
    assert again == first
    write_png(segment_folder / "ignored.png", band(0, 1))  # a stray file changes nothing
    assert label_paths(open_segment(segment_folder)) == first
