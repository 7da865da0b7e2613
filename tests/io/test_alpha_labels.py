"""Soft labels painted on a transparent layer keep their softness, whatever the painting
program stored under full transparency (GIMP zeroes it, others keep the colour)."""

from __future__ import annotations

import numpy as np
import pytest
import tifffile
from PIL import Image

from inkloop.io import read_label_image

SHAPE = (48, 64)


def _soft_dot() -> np.ndarray:
    """A soft brush's dot: uint8 alpha falling off from 255 at its centre to 0 at its edge."""
    y, x = np.mgrid[: SHAPE[0], : SHAPE[1]]
    distance = np.hypot(y - 24, x - 32)
    return (255 * np.clip(1 - distance / 20, 0, 1) + 0.5).astype(np.uint8)


def _strokes(colour, alpha: np.ndarray, hidden=(0, 0, 0)) -> np.ndarray:
    """RGBA: ``colour`` painted with ``alpha``, ``hidden`` stored where nothing is painted."""
    rgba = np.zeros((*SHAPE, 4), np.uint8)
    rgba[...] = (*hidden, 0)
    rgba[alpha > 0, :3] = colour
    rgba[..., 3] = alpha
    return rgba


@pytest.mark.parametrize("colour", [(255, 255, 255), (255, 0, 0)])
def test_a_soft_dot_on_gimps_zeroed_transparency_reads_soft(tmp_path, colour):
    alpha = _soft_dot()
    Image.fromarray(_strokes(colour, alpha), "RGBA").save(tmp_path / "ink.png")

    ink = read_label_image(tmp_path / "ink.png", SHAPE, ink=True)

    np.testing.assert_array_equal(ink, alpha)  # not 255 wherever alpha > 0


def test_a_soft_grey_and_alpha_dot_reads_soft(tmp_path):
    alpha = _soft_dot()
    grey = np.where(alpha > 0, 255, 0).astype(np.uint8)  # GIMP's grey + alpha export
    Image.fromarray(np.stack([grey, alpha], -1), "LA").save(tmp_path / "ink.png")

    np.testing.assert_array_equal(read_label_image(tmp_path / "ink.png", SHAPE, ink=True), alpha)


@pytest.mark.parametrize("hidden", [(0, 0, 0), (255, 255, 255)])
@pytest.mark.parametrize("colour", [(0, 0, 0), (255, 255, 255), (0, 255, 0)])
def test_black_white_or_pure_strokes_read_as_the_alpha_whatever_lies_under_transparency(
    tmp_path, hidden, colour
):
    alpha = _soft_dot()
    Image.fromarray(_strokes(colour, alpha, hidden), "RGBA").save(tmp_path / "ink.png")

    np.testing.assert_array_equal(read_label_image(tmp_path / "ink.png", SHAPE, ink=True), alpha)


@pytest.mark.parametrize("hidden", [(0, 0, 0), (255, 255, 255)])
def test_soft_grey_strokes_on_transparency_keep_their_grey(tmp_path, hidden):
    alpha = _soft_dot()
    Image.fromarray(_strokes((128, 128, 128), alpha, hidden), "RGBA").save(tmp_path / "ink.png")

    ink = read_label_image(tmp_path / "ink.png", SHAPE, ink=True)

    np.testing.assert_array_equal(ink, (128 * alpha.astype(np.uint16) + 127) // 255)


def test_opaque_grey_strokes_on_gimps_zeroed_transparency_read_grey_beside_any_other(tmp_path):
    grey = np.zeros(SHAPE, np.uint8)
    grey[10:20, 5:40] = 128  # half-strength ink, fully opaque, on grey + alpha (GIMP's LA)
    alpha = np.where(grey > 0, 255, 0).astype(np.uint8)
    Image.fromarray(np.stack([grey, alpha], -1), "LA").save(tmp_path / "alone.png")
    grey[30:40, 5:40] = alpha[30:40, 5:40] = 255  # a white stroke elsewhere
    Image.fromarray(np.stack([grey, alpha], -1), "LA").save(tmp_path / "beside.png")

    for name in ("alone.png", "beside.png"):
        ink = read_label_image(tmp_path / name, SHAPE, ink=True)
        np.testing.assert_array_equal(ink[10:20, 5:40], 128, name)  # not full ink alone


def test_strokes_of_several_colours_on_transparency_read_as_colour_over_black(tmp_path):
    alpha = _soft_dot()
    rgba = _strokes((255, 255, 255), alpha)
    rgba[:, 32:, :3] = np.where(alpha[:, 32:, None] > 0, 128, 0)  # grey on the right half
    Image.fromarray(rgba, "RGBA").save(tmp_path / "ink.png")

    ink = read_label_image(tmp_path / "ink.png", SHAPE, ink=True)

    np.testing.assert_array_equal(ink[:, :32], alpha[:, :32])
    expected = (128 * alpha[:, 32:].astype(np.uint16) + 127) // 255
    np.testing.assert_array_equal(ink[:, 32:], expected)


def test_a_16_bit_tiff_painted_on_transparency_reads_soft(tmp_path):
    alpha = _soft_dot().astype(np.uint16) * 257
    rgba = np.zeros((*SHAPE, 4), np.uint16)
    rgba[alpha > 0, :3] = 65535
    rgba[:, 32:, :3] = np.where(alpha[:, 32:, None] > 0, 32768, 0)  # two colours: over black
    rgba[..., 3] = alpha
    path = tmp_path / "ink.tif"
    tifffile.imwrite(path, rgba, photometric="rgb", extrasamples=["unassalpha"])

    ink = read_label_image(path, SHAPE, ink=True)

    np.testing.assert_array_equal(ink[:, :32], _soft_dot()[:, :32])
    half = np.rint(32768 * (alpha[:, 32:] / 65535)) * (255 / 65535) + 0.5
    np.testing.assert_array_equal(ink[:, 32:], half.astype(np.uint8))
