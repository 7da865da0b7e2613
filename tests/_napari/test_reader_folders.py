"""napari offers the reader every folder: it takes a folder of numbered images only where it
holds a segment's layers, and leaves any other folder of images to napari's own reader."""

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


def test_a_folder_of_images_alone_is_left_to_napari(images, make_napari_viewer):
    assert get_reader(str(images)) is None
    viewer = make_napari_viewer()

    # Ink Loop picked in napari's dialog: napari says so, and nothing is made
    with pytest.raises(ValueError, match=r"'napari-inkloop' .* refused the file"):
        viewer.open(str(images), plugin="napari-inkloop")
    (layer,) = viewer.open(str(images), plugin="napari", stack=False)  # napari's own pick

    assert layer.data.shape == (3, 16, 24)
    assert len(viewer.layers) == 1


@pytest.mark.parametrize("side_file", ["scans_mask.png", "scans_inklabels.PNG", "scans.obj"])
def test_a_folder_of_images_with_a_segments_files_is_a_segment(images, side_file):
    write_png(images / side_file, np.full((16, 24), 255, np.uint8))

    assert get_reader(str(images)) is read_segment


def test_segment_folders_and_their_layer_folders_are_still_taken(tmp_path):
    folder = write_segment(tmp_path / "seg", 32, 48, 4, seed=1, truth_as_labels=False)

    assert get_reader(str(folder)) is read_segment
    assert get_reader(str(folder / "layers")) is read_segment  # opened as its segment


def test_the_docks_open_segment_opens_a_folder_of_images(images, open_in_dock):
    viewer, _ = open_in_dock(images)

    assert [layer.name for layer in viewer.layers] == ["scans", "ink labels"]
    assert viewer.layers["scans"].data.shape == (3, 16, 24)
