"""Bad input gets one SegmentError naming the file and the problem, and nothing is written."""

from __future__ import annotations

import re

import numpy as np
import pytest
import tifffile
from PIL import Image

from inkloop.io import SegmentError, open_segment, write_layer, write_png
from tests._helpers import folder_listing


def _open_fails(path, match, **kwargs):
    root = path if path.is_dir() else path.parent
    before = folder_listing(root) if root.exists() else {}
    with pytest.raises(SegmentError, match=match):
        open_segment(path, **kwargs)
    assert (folder_listing(root) if root.exists() else {}) == before


def test_missing_path(tmp_path):
    _open_fails(tmp_path / "nowhere", "nowhere: no such file or folder")


def test_empty_path():
    with pytest.raises(SegmentError, match="no segment path"):
        open_segment("")


def test_empty_folder(tmp_path):
    (tmp_path / "empty").mkdir()
    _open_fails(tmp_path / "empty", "empty: folder is empty")


def test_folder_without_layers(tmp_path):
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "readme.txt").write_text("no layers here")
    _open_fails(tmp_path / "docs", "docs: no layer images")


def test_gap_in_layer_numbers(segment_folder):
    (segment_folder / "layers" / "03.tif").unlink()
    _open_fails(segment_folder, r"layer 3 is missing between 02.tif and 04.tif")


def test_duplicate_layer_number(segment_folder):
    write_layer(segment_folder / "layers" / "5.tif", np.zeros((64, 96), np.uint16))
    _open_fails(segment_folder, "are both layer 5")


def test_layer_of_another_shape(segment_folder):
    write_layer(segment_folder / "layers" / "04.tif", np.zeros((64, 95), np.uint16))
    _open_fails(segment_folder, r"04.tif: layer is 64x95 uint16, but 00.tif is 64x96 uint16")


def test_layer_of_another_dtype(segment_folder):
    write_layer(segment_folder / "layers" / "06.tif", np.zeros((64, 96), np.uint8))
    _open_fails(segment_folder, r"06.tif: layer is 64x96 uint8")


@pytest.mark.parametrize("suffix", [".png", ".tif"])
def test_colour_layer(tmp_path, suffix):
    folder = tmp_path / "photos"
    for number in range(3):
        write_layer(folder / f"{number}.tif", np.zeros((8, 8), np.uint8))
    colour = np.zeros((8, 8, 3), np.uint8)
    if suffix == ".png":
        (folder / "1.tif").unlink()
        Image.fromarray(colour).save(folder / "1.png")
    else:
        tifffile.imwrite(folder / "1.tif", colour, photometric="rgb")
    _open_fails(folder, rf"1\{suffix}: a colour image; layers must be single-channel grey")


def test_corrupt_tiff(segment_folder):
    (segment_folder / "layers" / "02.tif").write_bytes(b"this is not a tiff at all")
    _open_fails(segment_folder, "02.tif: not a readable TIFF")


def test_truncated_tiff(segment_folder):
    layer = segment_folder / "layers" / "07.tif"
    layer.write_bytes(layer.read_bytes()[:-500])
    _open_fails(segment_folder, "07.tif: TIFF is truncated")


def test_truncated_multipage_tiff(tmp_path, synthetic):
    path = tmp_path / "stack.tif"
    tifffile.imwrite(path, synthetic.volume)
    path.write_bytes(path.read_bytes()[:-4096])
    with pytest.raises(SegmentError, match=r"stack\.tif: TIFF is truncated"):
        open_segment(path).volume.compute()


@pytest.mark.parametrize(
    ("sidecar", "layer"),
    [("mask", "mask"), ("inklabels", "ink_labels"), ("supervision_mask", "supervision")],
)
def test_a_side_file_of_another_size_says_what_to_do_once_used(segment_folder, sidecar, layer):
    path = segment_folder / f"20231012184423_{sidecar}.png"
    write_png(path, np.zeros((60, 96), np.uint8))
    segment = open_segment(segment_folder)  # opens: --labels may stand in for it
    message = (
        f"{path}: image is 60x96 but the layers are 64x96: move it out of {segment_folder} "
        "or resize it to 64x96"
    )
    with pytest.raises(SegmentError, match=f"^{re.escape(message)}$"):
        np.asarray(getattr(segment, layer))


def test_a_corrupt_mask_is_named_once_used(segment_folder):
    (segment_folder / "20231012184423_mask.png").write_bytes(b"\x89PNG broken")
    segment = open_segment(segment_folder)
    with pytest.raises(SegmentError, match=r"_mask\.png: not a readable image"):
        np.asarray(segment.mask)


@pytest.mark.parametrize(("z_start", "z_count"), [(8, None), (-1, 2), (2, 0), (5, 4)])
def test_window_outside_the_stack(segment_folder, z_start, z_count):
    _open_fails(segment_folder, "does not fit its 8 layers", z_start=z_start, z_count=z_count)


@pytest.mark.parametrize(
    ("odd_pages", "also"),
    [((3,), ""), ((3, 5), " (layer 5 differs too)"), ((3, 5, 6), " (layers 5, 6 differ too)")],
)
@pytest.mark.parametrize(
    ("odd", "layout"),
    [
        (lambda layer: layer[:40, :50], "40x50 uint16"),
        (lambda layer: layer >> 8, "64x96 uint8"),
    ],
)
def test_a_tiff_page_unlike_the_others_is_named(tmp_path, synthetic, odd_pages, also, odd, layout):
    path = tmp_path / "scan.tif"
    with tifffile.TiffWriter(path) as tiff:  # page by page, as a scanner's software may
        for z, layer in enumerate(synthetic.volume):
            tiff.write(odd(layer).astype(layout.split()[1]) if z in odd_pages else layer)
    message = f"scan.tif: layer 3 (page 4 of 8) is {layout}, but layer 0 is 64x96 uint16{also}"
    _open_fails(path, f"{re.escape(message)}$")


def test_single_page_tiff_is_not_a_segment(tmp_path):
    tifffile.imwrite(tmp_path / "photo.tif", np.zeros((8, 8), np.uint8))
    _open_fails(tmp_path / "photo.tif", "photo.tif: not a segment")


def test_one_image_with_its_pyramid_and_thumbnail_is_one_image(tmp_path):
    path = tmp_path / "scan.tif"
    with tifffile.TiffWriter(path) as tiff:
        tiff.write(np.zeros((64, 64), np.uint8), subifds=1)
        tiff.write(np.zeros((32, 32), np.uint8), subfiletype=1)  # its pyramid level
        tiff.write(np.zeros((16, 16, 3), np.uint8), subfiletype=1)  # a thumbnail
    _open_fails(path, "scan.tif: not a segment: one \\(64, 64\\) image, not a stack")
