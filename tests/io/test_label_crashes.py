"""What a killed process leaves beside a segment, and what opening it again makes of that:
a label pair renamed only halfway, an ink autosave without its mask, parts of writes."""

from __future__ import annotations

import logging
import os
import time

import numpy as np
import pytest

from inkloop._notify import InkloopWarning
from inkloop.io import autosaved_labels, initial_labels, label_paths, open_segment, save_labels
from inkloop.io._labels import PAINTED
from inkloop.io._write import LEFT_PART_S, write_png

SECOND = 10**9


def _dated(paths, stamp: int) -> None:
    for path in paths:
        os.utime(path, ns=(stamp, stamp))


def _stroke(shape, rows: slice) -> tuple[np.ndarray, np.ndarray]:
    """Full ink painted across ``rows``, and "no ink" on the rows just below them."""
    ink, supervised = np.zeros(shape, np.uint8), np.zeros(shape, bool)
    ink[rows], supervised[rows] = 255, True
    supervised[rows.stop : rows.stop + 4] = True
    return ink, supervised


def test_a_save_killed_between_its_renames_restores_the_autosaved_pair(segment_folder):
    segment = open_segment(segment_folder)
    shape, now = segment.shape[1:], time.time_ns()
    first, second = _stroke(shape, slice(0, 8)), _stroke(shape, slice(0, 20))
    _dated(save_labels(segment, *first), now - 3 * SECOND)  # Saved
    _dated(save_labels(segment, *second, autosave=True), now - 2 * SECOND)  # then painted
    # the next Save renamed its ink into place and was killed before its mask
    ink_path = label_paths(segment)[0]
    write_png(ink_path, second[0], PAINTED)
    _dated([ink_path], now - SECOND)

    assert autosaved_labels(segment) == label_paths(segment, autosave=True)
    ink, supervised, source, _ = initial_labels(open_segment(segment_folder))
    assert source.startswith("restored autosaved labels")
    np.testing.assert_array_equal(ink, second[0])
    np.testing.assert_array_equal(supervised, second[1])


def test_an_ink_autosave_without_its_mask_restores_its_ink_strokes_and_says_so(segment_folder):
    segment = open_segment(segment_folder)
    for path in label_paths(segment):
        path.unlink(missing_ok=True)
    ink_path, supervision_path = label_paths(segment, autosave=True)
    painted = _stroke(segment.shape[1:], slice(10, 20))
    save_labels(segment, *painted, autosave=True)
    supervision_path.unlink()  # killed before the mask's rename

    with pytest.warns(InkloopWarning, match="without its supervision mask.*'no ink' strokes"):
        ink, supervised, source, found = initial_labels(open_segment(segment_folder))

    assert (source, found) == (f"restored autosaved ink labels {ink_path}", ink_path)
    np.testing.assert_array_equal(ink, painted[0])
    np.testing.assert_array_equal(supervised, painted[0] > 0)  # the "no ink" rows are lost


def test_an_ink_autosave_without_its_mask_goes_over_the_saved_labels(segment_folder):
    """Its ink strokes win where they cross the saved labels, "no ink" included; the saved
    labels stay where it has no ink."""
    segment = open_segment(segment_folder)
    shape, now = segment.shape[1:], time.time_ns()
    saved = _stroke(shape, slice(0, 8))  # ink on rows 0..8, "no ink" on rows 8..12
    _dated(save_labels(segment, *saved), now - 2 * SECOND)
    painted = _stroke(shape, slice(30, 40))
    painted[0][saved[1]], painted[1][saved[1]] = saved[0][saved[1]], True  # painted after
    painted[0][8:12, 10:40] = 255  # an ink stroke over the saved "no ink"
    ink_path, supervision_path = save_labels(segment, *painted, autosave=True)
    supervision_path.unlink()

    with pytest.warns(InkloopWarning, match="without its supervision mask"):
        ink, supervised, source, _ = initial_labels(open_segment(segment_folder))

    assert source == f"restored autosaved ink labels {ink_path}"
    assert (ink[8:12, 10:40] == 255).all()
    np.testing.assert_array_equal(ink, painted[0])
    np.testing.assert_array_equal(supervised, saved[1] | (painted[0] > 0))


def test_opening_deletes_the_parts_killed_writes_left_and_nothing_else(segment_folder, caplog):
    name = segment_folder.name
    ended = [
        f".{name}_inklabels.autosave.png.k3x_9qzw.tmp",
        f".{name}_inkloop_model.pt.a1b2c3d4.tmp",
    ]
    kept = [
        f".{name}_inklabels.png.z9y8x7w6.tmp",  # a write under way: written just now
        f".{name}_inklabels.png.notes.tmp",  # the user's: not a part's random name
        f"{name}_inklabels.png.a1b2c3d4.tmp",  # no leading dot
        f".{name}_notes.txt.a1b2c3d4.tmp",  # not one of inkloop's files
        ".other_inklabels.png.a1b2c3d4.tmp",  # another segment's
    ]
    long_ago = time.time_ns() - (LEFT_PART_S + 60) * SECOND
    for file in [*ended, *kept]:
        (segment_folder / file).write_bytes(b"part")
    _dated([segment_folder / file for file in [*ended, *kept[1:]]], long_ago)

    with caplog.at_level(logging.INFO, logger="inkloop.io._write"):
        initial_labels(open_segment(segment_folder))

    assert not [file for file in ended if (segment_folder / file).exists()]
    assert all((segment_folder / file).exists() for file in kept)
    assert sorted(caplog.messages) == sorted(
        f"deleted {segment_folder / file}, left by an ended write" for file in ended
    )


def test_an_autosave_killed_between_its_renames_keeps_its_newest_ink_strokes(segment_folder):
    """The autosave's ink renamed into place, its mask not: new strokes beside the older
    mask, which left them unlabelled (lost at the next autosave)."""
    segment = open_segment(segment_folder)
    for path in label_paths(segment):
        path.unlink(missing_ok=True)
    shape = segment.shape[1:]
    older, newer = _stroke(shape, slice(0, 8)), _stroke(shape, slice(30, 40))
    save_labels(segment, *older, autosave=True)
    ink_path = label_paths(segment, autosave=True)[0]
    write_png(ink_path, np.maximum(older[0], newer[0]), PAINTED)  # killed before its mask

    ink, supervised, source, _ = initial_labels(open_segment(segment_folder))
    assert source.startswith("restored autosaved labels")
    assert (ink[30:40] == 255).all()
    assert supervised[30:40].all()
    np.testing.assert_array_equal(supervised[:12], older[1][:12])  # the older as they were
