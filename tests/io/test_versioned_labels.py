"""Versioned label files, as the scroll community writes them: ``<id>_inklabels[_vN]`` with
``<id>_supervision_mask[_vN]`` (unversioned = v1, the greatest version current); and where
labels painted on a segment are saved, so that the next open reads them."""

from __future__ import annotations

import os
import re

import numpy as np
import pytest

from inkloop._notify import InkloopWarning
from inkloop.io import (
    autosaved_labels,
    initial_labels,
    label_paths,
    load_labels,
    open_segment,
    rounds_path,
    rounds_path_for,
    save_labels,
    supervision_path_for,
    write_layer,
    write_png,
)
from inkloop.io._label_images import PAINTED
from tests._helpers import band

ID = "20231012184423"  # the segment_folder fixture's


def _add_version(folder, version: int, ink: np.ndarray, supervision: np.ndarray | None = None):
    """Labels of ``version`` as inkloop saved them (another tool's are never written over:
    `test_labels_of_other_tools`)."""
    write_png(folder / f"{ID}_inklabels_v{version}.png", ink, PAINTED)
    if supervision is not None:
        write_png(folder / f"{ID}_supervision_mask_v{version}.png", supervision)


def test_a_labels_version_goes_with_the_supervision_mask_and_rounds_of_its_segment(tmp_path):
    assert supervision_path_for(tmp_path / "x_inklabels_v2.png") == (
        tmp_path / "x_supervision_mask_v2.png"
    )
    assert supervision_path_for(tmp_path / "x_inklabels_v12.autosave.png") == (
        tmp_path / "x_supervision_mask_v12.autosave.png"
    )
    assert supervision_path_for("x_inklabels_v1.tif").name == "x_supervision_mask_v1.png"
    assert supervision_path_for("inklabels.png").name == "supervision_mask.png"  # Kaggle's
    assert supervision_path_for("mine.png").name == "mine_supervision_mask.png"
    assert rounds_path_for(tmp_path / "x_inklabels_v2.png") == tmp_path / "x_rounds.jsonl"


def test_a_segment_opens_its_latest_labels_version_with_that_versions_supervision(
    segment_folder,
):
    _add_version(segment_folder, 2, band(10, 20), band(5, 30))
    _add_version(segment_folder, 3, band(40, 50))  # no supervision mask of its own
    write_png(segment_folder / f"{ID}_supervision_mask.png", band(0, 64))  # v1's

    segment = open_segment(segment_folder)

    assert segment.files["ink_labels"] == segment_folder / f"{ID}_inklabels_v3.png"
    assert "supervision" not in segment.files  # not another version's
    ink, supervised, sources = load_labels(segment)
    np.testing.assert_array_equal(ink, band(40, 50))
    np.testing.assert_array_equal(supervised, np.asarray(segment.mask))  # the papyrus
    (segment_folder / f"{ID}_inklabels_v3.png").unlink()

    segment = open_segment(segment_folder)

    assert segment.files["supervision"] == segment_folder / f"{ID}_supervision_mask_v2.png"
    for given in (None, segment.files["ink_labels"]):  # found, or passed as --labels
        ink, supervised, sources = load_labels(segment, given)
        np.testing.assert_array_equal(ink, band(10, 20))
        np.testing.assert_array_equal(supervised, band(5, 30) > 0)
        assert sources["supervision_file"].endswith(f"{ID}_supervision_mask_v2.png")


@pytest.mark.parametrize("spelled", ["1", "01"])
def test_v1_labels_go_with_their_own_v1_supervision_mask_else_the_unversioned_one(
    segment_folder, spelled
):
    """Version 1 is also unversioned: ``_v1`` labels take the unversioned supervision mask
    only where no mask spelled as they are is there (not the papyrus, silently)."""
    (segment_folder / f"{ID}_inklabels.png").unlink()
    write_png(segment_folder / f"{ID}_inklabels_v{spelled}.png", band(10, 20), PAINTED)
    own = segment_folder / f"{ID}_supervision_mask_v{spelled}.png"
    unversioned = segment_folder / f"{ID}_supervision_mask.png"
    write_png(own, band(5, 30))
    write_png(unversioned, band(0, 64))

    segment = open_segment(segment_folder)

    assert segment.files["supervision"] == own
    assert label_paths(segment)[1] == own  # saved where the next open reads it
    _, supervised, sources = load_labels(segment)
    np.testing.assert_array_equal(supervised, band(5, 30) > 0)
    assert sources["supervision_file"] == str(own)
    own.unlink()

    assert open_segment(segment_folder).files["supervision"] == unversioned
    assert supervision_path_for(segment.files["ink_labels"]) == unversioned


def test_labels_saved_after_opening_a_version_are_what_the_next_open_reads(segment_folder):
    (segment_folder / f"{ID}_inklabels.png").unlink()
    _add_version(segment_folder, 2, band(10, 20), band(5, 30))
    segment = open_segment(segment_folder)
    with pytest.warns(InkloopWarning, match="opened version 2 of its ink labels"):
        ink, supervised, _, opened = initial_labels(segment)
    assert opened == segment_folder / f"{ID}_inklabels_v2.png"
    np.testing.assert_array_equal(ink, band(10, 20))
    for path in label_paths(segment):  # saved a while before the autosave below
        stamp = path.stat().st_mtime_ns - 10**9
        os.utime(path, ns=(stamp, stamp))

    autosaved = save_labels(segment, band(30, 40), band(25, 45) > 0, autosave=True)

    assert [path.name for path in autosaved] == [
        f"{ID}_inklabels_v2.autosave.png",
        f"{ID}_supervision_mask_v2.autosave.png",
    ]
    reopened = open_segment(segment_folder)
    assert autosaved_labels(reopened) == autosaved  # a crash's strokes come back
    np.testing.assert_array_equal(initial_labels(reopened)[0], band(30, 40))

    saved = save_labels(segment, band(50, 60), band(45, 64) > 0)

    assert saved == label_paths(segment)
    assert [path.name for path in saved] == [
        f"{ID}_inklabels_v2.png",
        f"{ID}_supervision_mask_v2.png",
    ]
    assert not (segment_folder / f"{ID}_inklabels.png").exists()
    assert rounds_path(segment) == segment_folder / f"{ID}_rounds.jsonl"  # every version's
    for path in autosaved:
        path.unlink()  # as the dock's Save does
    ink, supervised, _ = load_labels(open_segment(segment_folder))
    np.testing.assert_array_equal(ink, band(50, 60))
    np.testing.assert_array_equal(supervised, band(45, 64) > 0)


def test_a_kaggle_fragments_inklabels_is_kept_and_the_user_told_where_labels_go(
    tmp_path, synthetic
):
    fragment = tmp_path / "1"
    for z, layer in enumerate(synthetic.volume):
        write_layer(fragment / "surface_volume" / f"{z:02d}.tif", layer)
    write_png(fragment / "mask.png", synthetic.mask.astype(np.uint8) * 255)
    write_png(fragment / "inklabels.png", band(10, 20))
    truth = (fragment / "inklabels.png").read_bytes()
    segment = open_segment(fragment)
    told = (
        "1: opened inklabels.png, which inkloop leaves as it is: painted labels are saved to "
        "1_inklabels.png and 1_supervision_mask.png, which inkloop opens from then on"
    )

    with pytest.warns(InkloopWarning, match=f"^{re.escape(told)}$"):
        _, supervised, _, _ = initial_labels(segment)
    save_labels(segment, band(30, 40), supervised)

    assert (fragment / "inklabels.png").read_bytes() == truth
    reopened = open_segment(fragment)
    assert reopened.files["ink_labels"] == fragment / "1_inklabels.png"
    np.testing.assert_array_equal(initial_labels(reopened)[0], band(30, 40))


def test_a_kaggle_fragments_plain_labels_keep_their_rounds_where_the_dock_does(tmp_path):
    """`inkloop train` on a fragment's plain inklabels.png and the dock (its painted
    <id>_inklabels.png) append to one rounds file, so each sees the other's rounds."""
    fragment = tmp_path / "1"
    fragment.mkdir()
    (fragment / "inklabels.png").touch()
    assert rounds_path_for(fragment / "inklabels.png") == fragment / "1_rounds.jsonl"
    assert rounds_path_for(fragment / "1_inklabels.png") == fragment / "1_rounds.jsonl"
