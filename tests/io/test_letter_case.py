"""File and folder names in another letter case, as a Mac or Windows disk (or exFAT) matches
them: ``<id>_inklabels.PNG``, ``<id>_mask.PNG``, ``LAYERS/`` open on Linux too, and labels
are saved back into the files they were read from, never beside them as case twins."""

from __future__ import annotations

import os
import warnings

import numpy as np
import pytest

from inkloop._notify import InkloopWarning
from inkloop.io import (
    SegmentError,
    initial_labels,
    label_paths,
    load_labels,
    open_segment,
    save_labels,
    write_layer,
    write_png,
)
from inkloop.io._label_images import PAINTED
from inkloop.io._letter_case import as_spelled, case_twins, spelled_as_found
from inkloop.io._side_lookup import find_side_files, supervision_path_for
from inkloop.io._sidefiles import segment_id, stray_side_files_hint
from tests._helpers import band

ID = "20231012184423"  # the segment_folder fixture's


def _no_case_twins(folder) -> bool:
    names = [path.name for path in folder.iterdir()]
    return len({name.lower() for name in names}) == len(names)


def test_side_files_and_layers_in_upper_case_open_and_labels_save_back_into_them(
    segment_folder,
):
    (segment_folder / "layers").rename(segment_folder / "LAYERS")
    mask, ink = segment_folder / f"{ID}_mask.PNG", segment_folder / f"{ID}_inklabels.PNG"
    supervision = segment_folder / f"{ID}_supervision_mask.PNG"
    (segment_folder / f"{ID}_mask.png").rename(mask)
    (segment_folder / f"{ID}_inklabels.png").rename(ink)
    write_png(supervision, band(0, 40))

    segment = open_segment(segment_folder)

    assert (segment.format, segment.shape) == ("vesuvius", (8, 64, 96))
    assert segment.files == {"mask": mask, "ink_labels": ink, "supervision": supervision}
    with warnings.catch_warnings():
        warnings.simplefilter("error", InkloopWarning)  # nothing said: saved where read
        _, supervised, _, opened = initial_labels(segment)
    assert opened == ink
    np.testing.assert_array_equal(supervised, band(0, 40) > 0)
    assert label_paths(segment) == (ink, supervision)

    assert save_labels(segment, band(10, 20), band(5, 30) > 0) == (ink, supervision)

    assert _no_case_twins(segment_folder)
    ink_read, supervised, _ = load_labels(open_segment(segment_folder))
    np.testing.assert_array_equal(ink_read, band(10, 20))
    np.testing.assert_array_equal(supervised, band(5, 30) > 0)


def test_a_labels_version_spelled_in_another_case_is_opened_and_saved_back(segment_folder):
    (segment_folder / f"{ID}_inklabels.png").unlink()
    ink = segment_folder / f"{ID}_InkLabels_V2.PNG"
    supervision = segment_folder / f"{ID}_Supervision_Mask_V2.PNG"
    write_png(ink, band(10, 20), PAINTED)  # inkloop's: saved into
    write_png(supervision, band(5, 30))
    segment = open_segment(segment_folder)
    assert (segment.files["ink_labels"], segment.files["supervision"]) == (ink, supervision)
    with pytest.warns(InkloopWarning, match="opened version 2 of its ink labels"):
        initial_labels(segment)

    assert save_labels(segment, band(30, 40), band(25, 45) > 0) == (ink, supervision)

    assert _no_case_twins(segment_folder)


@pytest.mark.parametrize(("layout", "fmt"), [("LAYERS", "vesuvius"), ("Surface_Volume", "kaggle")])
def test_a_layer_folder_in_another_case_opens_its_segment_with_its_plain_files(
    tmp_path, layout, fmt
):
    folder = tmp_path / "1"
    for z in range(3):
        write_layer(folder / layout / f"{z:02d}.tif", np.full((8, 12), z, np.uint16))
    write_png(folder / "Mask.PNG", np.full((8, 12), 255, np.uint8))  # a Kaggle fragment's

    with pytest.warns(InkloopWarning, match="is the layer folder of the segment 1"):
        segment = open_segment(folder / layout)

    assert (segment.path, segment.format, segment.shape) == (folder, fmt, (3, 8, 12))
    assert segment.files == {"mask": folder / "Mask.PNG"}


def test_a_renamed_folder_is_known_by_its_files_in_another_case_and_others_named(tmp_path):
    folder = tmp_path / f"working_{ID}"
    for z in range(3):
        write_layer(folder / "layers" / f"{z:02d}.tif", np.zeros((8, 12), np.uint16))
    write_png(folder / f"{ID}_MASK.PNG", np.full((8, 12), 255, np.uint8))
    assert segment_id(folder) == ID
    with pytest.warns(InkloopWarning, match=f"its side files are named for {ID}"):
        assert open_segment(folder).files == {"mask": folder / f"{ID}_MASK.PNG"}

    (folder / f"{ID}_MASK.PNG").rename(folder / "OLD_Mask.PNG")
    segment = open_segment(folder)

    assert "OLD_Mask.PNG in" in stray_side_files_hint(segment)


def test_a_servers_folder_without_layers_names_its_files_in_another_case(tmp_path):
    folder = tmp_path / ID
    folder.mkdir()
    write_png(folder / f"{ID}_mask.PNG", np.full((8, 12), 255, np.uint8))

    with pytest.raises(SegmentError, match=rf"no layers/ folder: .* \({ID}_mask\.PNG\)"):
        open_segment(folder)


def test_a_name_is_found_as_spelled_where_it_is_there_else_in_another_case(tmp_path):
    (tmp_path / "x.PNG").touch()
    (tmp_path / "Layers").mkdir()
    assert spelled_as_found(tmp_path, ["y.png", "x.png"]) == tmp_path / "x.PNG"
    assert spelled_as_found(tmp_path, ["layers"]) is None  # a folder, not a file
    assert spelled_as_found(tmp_path, ["LAYERS"], lambda path: path.is_dir()) == tmp_path / "Layers"
    assert as_spelled(tmp_path / "x.png") == tmp_path / "x.PNG"
    assert as_spelled(tmp_path / "z.png") == tmp_path / "z.png"
    assert spelled_as_found(tmp_path / "gone", ["x.png"]) is None
    (tmp_path / "x.png").touch()
    if len(list(tmp_path.iterdir())) == 3:  # a disk that tells x.png from x.PNG (Linux's)
        assert spelled_as_found(tmp_path, ["x.png"]) == tmp_path / "x.png"
        assert as_spelled(tmp_path / "x.png") == tmp_path / "x.png"


@pytest.mark.parametrize(
    ("exact", "twin"), [("inklabels", "InkLabels"), ("inklabels_v2", "INKLABELS_V2")]
)
def test_where_both_spellings_are_there_the_exact_one_is_read_and_saved_and_the_twin_named(
    segment_folder, exact, twin
):
    ink, other = segment_folder / f"{ID}_{exact}.png", segment_folder / f"{ID}_{twin}.png"
    write_png(ink, band(10, 20), PAINTED)  # inkloop's: saved into
    write_png(other, band(30, 40))  # what the earlier version's Save left beside it
    kept = other.read_bytes()

    with pytest.warns(InkloopWarning, match=f"{other.name} is not read, {ink.name} is"):
        segment = open_segment(segment_folder)

    assert segment.files["ink_labels"] == ink
    np.testing.assert_array_equal(segment.ink_labels > 0, band(10, 20) > 0)
    assert label_paths(segment)[0] == ink
    assert save_labels(segment, band(0, 5), band(0, 9) > 0)[0] == ink
    np.testing.assert_array_equal(load_labels(open_segment(segment_folder))[0], band(0, 5))
    assert other.read_bytes() == kept


def test_a_lookup_of_side_files_lists_their_folder_once(segment_folder, monkeypatch):
    listed = []
    real = os.listdir
    monkeypatch.setattr(os, "listdir", lambda path=".": listed.append(path) or real(path))

    find_side_files(segment_folder, ID)  # no supervision mask there: each name asked for
    assert len(listed) == 1
    supervision_path_for(segment_folder / f"{ID}_inklabels.png")
    assert len(listed) == 2


def test_a_disk_that_ignores_case_has_no_twins(tmp_path):
    """On a Mac's or Windows' disk ``seg_mask.png`` finds ``seg_Mask.png`` itself: that one
    file is not its own twin (moving it "out" would lose the mask)."""
    (tmp_path / "seg_Mask.png").touch()
    assert case_twins(tmp_path / "seg_mask.png") == []
    (tmp_path / "seg_mask.png").touch()  # a Linux disk: both
    assert case_twins(tmp_path / "seg_mask.png") == ["seg_Mask.png"]
