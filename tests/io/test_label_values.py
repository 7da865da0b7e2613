"""Ink label images as people save them: 0/255, 0/1 (a binary mask), 16-bit, float 0..1."""

from __future__ import annotations

import re

import numpy as np
import pytest
import tifffile
from PIL import Image

from inkloop._notify import InkloopWarning
from inkloop.io import SegmentError, load_labels, open_segment, read_label_image

SHAPE = (12, 16)


def _ink() -> np.ndarray:
    ink = np.zeros(SHAPE, bool)
    ink[2:5, 3:9] = True
    return ink


@pytest.mark.parametrize(("name", "dtype"), [("ink01.png", np.uint8), ("ink01.tif", np.uint16)])
def test_an_image_of_0_and_1_is_binary_ink(tmp_path, name, dtype):
    path = tmp_path / name
    if name.endswith(".png"):
        Image.fromarray(_ink().astype(dtype)).save(path)
    else:
        tifffile.imwrite(path, _ink().astype(dtype))
    with pytest.warns(InkloopWarning) as said:
        ink = read_label_image(path, SHAPE, ink=True)
    np.testing.assert_array_equal(ink, _ink().astype(np.uint8) * 255)
    assert [str(w.message) for w in said] == [f"{path}: ink labels of 0 and 1: read 1 as ink (255)"]


def test_a_segments_own_labels_of_0_and_1_are_ink(segment_folder):
    segment = open_segment(segment_folder)
    truth = np.asarray(segment.ink_labels) >= 128
    Image.fromarray(truth.astype(np.uint8)).save(segment_folder / f"{segment.name}_inklabels.png")
    ink, _, _ = load_labels(open_segment(segment_folder))
    np.testing.assert_array_equal(ink, truth.astype(np.uint8) * 255)


def test_float_labels_within_0_and_1_are_scaled_to_255(tmp_path):
    values = np.zeros(SHAPE, np.float32)
    values[0, :3] = 0.5, 1.0, 0.2
    tifffile.imwrite(tmp_path / "inkf.tif", values)
    ink = read_label_image(tmp_path / "inkf.tif", SHAPE, ink=True)
    assert ink.dtype == np.uint8
    assert ink[0, :4].tolist() == [128, 255, 51, 0]


def test_float_labels_outside_0_and_1_name_the_file_and_the_range(tmp_path):
    path = tmp_path / "inkf.tif"
    tifffile.imwrite(
        path, np.linspace(0, 255, SHAPE[0] * SHAPE[1], dtype=np.float32).reshape(SHAPE)
    )
    with pytest.raises(SegmentError, match=rf"^{path}: .* within 0\.\.1 .*found 0\.\.255$"):
        read_label_image(path, SHAPE, ink=True)


def test_a_16_bit_mask_of_0_and_1_marks_its_ones(tmp_path):
    tifffile.imwrite(tmp_path / "mask.tif", _ink().astype(np.uint16))
    np.testing.assert_array_equal(read_label_image(tmp_path / "mask.tif", SHAPE, ink=False), _ink())


@pytest.mark.parametrize("dtype", [np.uint16, np.int16])
def test_values_of_0_to_255_in_a_wider_file_are_8_bit_labels(tmp_path, dtype):
    values = np.zeros(SHAPE, dtype)
    values[0, :3] = 255, 128, 3
    tifffile.imwrite(tmp_path / "ink.tif", values)
    ink = read_label_image(tmp_path / "ink.tif", SHAPE, ink=True)
    assert ink[0, :4].tolist() == [255, 128, 3, 0]


def test_16_bit_labels_of_the_full_range_keep_their_top_8_bits(tmp_path):
    values = np.zeros(SHAPE, np.uint16)
    values[0, :2] = 65535, 32896
    tifffile.imwrite(tmp_path / "ink.tif", values)
    assert read_label_image(tmp_path / "ink.tif", SHAPE, ink=True)[0, :3].tolist() == [255, 128, 0]


def test_black_strokes_on_a_transparent_background_are_read_from_the_alpha(tmp_path):
    rgba = np.zeros((*SHAPE, 4), np.uint8)  # black everywhere; painted where opaque
    rgba[..., 3] = _ink() * 255
    Image.fromarray(rgba, "RGBA").save(tmp_path / "ink.png")
    ink = read_label_image(tmp_path / "ink.png", SHAPE, ink=True)
    np.testing.assert_array_equal(ink, _ink().astype(np.uint8) * 255)
    opaque = rgba.copy()
    opaque[..., :3] = (_ink() * 255)[..., None]  # white strokes, all opaque: their luminance
    opaque[..., 3] = 255
    Image.fromarray(opaque, "RGBA").save(tmp_path / "white.png")
    np.testing.assert_array_equal(read_label_image(tmp_path / "white.png", SHAPE, ink=True), ink)


@pytest.mark.parametrize("suffix", [".png", ".tif"])
@pytest.mark.parametrize("colour", [(255, 0, 0), (0, 255, 0), (0, 0, 255)])
def test_strokes_of_a_pure_colour_on_black_are_full_ink(tmp_path, suffix, colour):
    rgb = np.zeros((*SHAPE, 3), np.uint8)
    rgb[_ink()] = colour
    path = tmp_path / f"ink{suffix}"
    if suffix == ".png":
        Image.fromarray(rgb).save(path)
    else:
        tifffile.imwrite(path, rgb, photometric="rgb")
    ink = read_label_image(path, SHAPE, ink=True)
    np.testing.assert_array_equal(ink, _ink().astype(np.uint8) * 255)


def test_a_tiffs_strokes_on_a_transparent_background_are_read_from_the_alpha(tmp_path):
    rgba = np.full((*SHAPE, 4), 255, np.uint8)  # white everywhere; painted where opaque
    rgba[..., 3] = _ink() * 255
    tifffile.imwrite(tmp_path / "ink.tif", rgba, photometric="rgb", extrasamples=["unassalpha"])
    ink = read_label_image(tmp_path / "ink.tif", SHAPE, ink=True)
    np.testing.assert_array_equal(ink, _ink().astype(np.uint8) * 255)


def test_a_planar_colour_tiff_is_read_at_its_own_size(tmp_path):
    planes = np.stack([_ink().astype(np.uint8) * 255] * 3)  # (3, H, W): one plane per colour
    path = tmp_path / "ink.tif"
    tifffile.imwrite(path, planes, photometric="rgb", planarconfig="separate")
    ink = read_label_image(path, SHAPE, ink=True)
    np.testing.assert_array_equal(ink, _ink().astype(np.uint8) * 255)


def test_the_ink_labels_layer_saved_by_napari_is_refused_with_what_to_do(tmp_path):
    from napari_builtins.io._write import napari_write_labels

    from inkloop.brush import encode_labels

    codes = encode_labels(_ink().astype(np.uint8) * 255, np.ones(SHAPE, bool))  # 1 or 256
    saved = napari_write_labels(str(tmp_path / "ink labels.tif"), codes, {})
    assert np.dtype(tifffile.imread(saved).dtype).itemsize == 4
    tifffile.imwrite(tmp_path / "codes16.tif", codes)  # the same codes as 16-bit
    for path in (saved, tmp_path / "codes16.tif"):
        with pytest.raises(
            SegmentError,
            match=rf"^{re.escape(str(path))}: .* look like the "
            r'"ink labels" layer saved by napari.s own writer .*"Ink Loop" file '
            r"type in napari.s Save dialog, or with the dock.s Save labels$",
        ):
            read_label_image(path, SHAPE, ink=True)


def test_16_bit_labels_other_than_label_codes_keep_their_rules(tmp_path):
    values = np.zeros(SHAPE, np.uint16)
    values[0, :4] = 128, 129, 257, 1  # up to 257, not the codes' 256: 16-bit levels, rounded
    tifffile.imwrite(tmp_path / "ink.tif", values)
    assert read_label_image(tmp_path / "ink.tif", SHAPE, ink=True)[0, :4].tolist() == [0, 1, 1, 0]


@pytest.mark.parametrize("dtype", [np.int32, np.int64, np.uint32])
def test_a_wide_integer_mask_from_another_tool_is_read_by_its_values(tmp_path, dtype):
    # uint32 up to 256 is what napari's writer makes of the ink labels layer: refused above
    for top in (255, 65535) if dtype != np.uint32 else (65535,):
        values = _ink().astype(dtype) * top
        tifffile.imwrite(tmp_path / "ink.tif", values)
        ink = read_label_image(tmp_path / "ink.tif", SHAPE, ink=True)
        np.testing.assert_array_equal(ink, _ink().astype(np.uint8) * 255)


@pytest.mark.parametrize("mode", ["1", "P"])
def test_1_bit_and_grey_palette_images_are_read_without_rgb(tmp_path, monkeypatch, mode):
    levels = np.zeros(SHAPE, np.uint8)
    levels[_ink()] = 255
    if mode == "1":
        image = Image.fromarray(_ink())  # a 1-bit mask, as Kaggle's fragments have them
    else:  # a palette of greys, as some painting programs save a grey image
        levels[8:, :5] = 128
        image = Image.fromarray(levels, "P")
        image.putpalette([value for value in range(256) for _ in range(3)])
    path = tmp_path / "ink.png"
    image.save(path)
    with Image.open(path) as saved:
        assert saved.mode == mode
    converted = []
    convert = Image.Image.convert
    monkeypatch.setattr(
        Image.Image,
        "convert",
        lambda self, *a, **k: converted.append(a[:1]) or convert(self, *a, **k),
    )

    ink = read_label_image(path, SHAPE, ink=True)
    mask = read_label_image(path, SHAPE, ink=False)

    np.testing.assert_array_equal(ink, levels)  # what their RGB's strongest channel gave
    np.testing.assert_array_equal(mask, levels > 0)
    assert not {("RGB",), ("RGBA",)} & set(converted)
