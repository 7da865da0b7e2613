"""napari offers the reader every folder: it takes a folder of numbered images where it holds
a segment's layers (any file an opening reads or inkloop keeps beside them), and says why it
does not open any other folder of images, pointing to the dock and napari's own reader."""

from __future__ import annotations

import numpy as np
import pytest
import tifffile

from inkloop._napari._reader import get_reader, read_segment
from inkloop.io import write_png
from inkloop.synthetic import write_segment


@pytest.fixture
def images(tmp_path):
    """A folder of three numbered grey TIFFs, nothing of a segment's beside them."""
    folder = tmp_path / "scans"
    folder.mkdir()
    for number in range(3):
        tifffile.imwrite(folder / f"{number:02d}.tif", np.full((16, 24), number * 40, np.uint8))
    return folder


def test_a_folder_of_images_alone_is_refused_with_the_reason(images, make_napari_viewer):
    viewer = make_napari_viewer()

    # Ink Loop picked in napari's dialog: the reason and what opens it; nothing is made
    reason = r"scans: a folder of images with nothing of a segment.*Open segment….*napari builtins"
    with pytest.raises(ValueError, match=reason):
        viewer.open(str(images), plugin="napari-inkloop")
    (layer,) = viewer.open(str(images), plugin="napari", stack=False)  # napari's own pick

    assert layer.data.shape == (3, 16, 24)
    assert len(viewer.layers) == 1


SIDE_FILES = [
    "scans_mask.png",
    "scans_inklabels.PNG",
    "scans.obj",
    "mask.png",  # a Kaggle fragment's names, which the README's table accepts
    "inklabels.png",
    "flat_mask.png",
    "scans_supervision_mask.png",
    "scans_inklabels_v2.png",
    "scans_inklabels.autosave.png",
    "scans_inkloop_model.pt",
    "scans_rounds.jsonl",
]


@pytest.mark.parametrize("side_file", SIDE_FILES)
def test_a_folder_of_images_with_a_segments_files_is_a_segment(images, side_file):
    write_png(images / side_file, np.full((16, 24), 255, np.uint8))

    assert get_reader(str(images)) is read_segment


def test_a_plain_folder_with_a_mask_and_labels_opens_them(images, make_napari_viewer):
    write_png(images / "mask.png", np.full((16, 24), 255, np.uint8))
    write_png(images / "inklabels.png", np.full((16, 24), 255, np.uint8))
    viewer = make_napari_viewer()

    viewer.open(str(images), plugin="napari-inkloop")

    assert [layer.name for layer in viewer.layers] == ["scans", "scans mask", "ink labels"]
    assert viewer.layers["ink labels"].data.max() > 0


def test_segment_folders_and_their_layer_folders_are_still_taken(tmp_path):
    folder = write_segment(tmp_path / "seg", 32, 48, 4, seed=1, truth_as_labels=False)

    assert get_reader(str(folder)) is read_segment
    assert get_reader(str(folder / "layers")) is read_segment  # opened as its segment


def test_the_docks_open_segment_opens_a_folder_of_images(images, open_in_dock):
    viewer, _ = open_in_dock(images)

    assert [layer.name for layer in viewer.layers] == ["scans", "ink labels"]
    assert viewer.layers["scans"].data.shape == (3, 16, 24)
