"""A mask image decodes to its bool with little more than the bool itself: a gigapixel mask
PNG peaked at 3.8x its result, holding Pillow's pixel bytes twice (chunks and their join)
beside the bool made from them."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from inkloop.io._label_images import decode_label_image
from tests._helpers import traced_peak

SHAPE = (4000, 3000)


def _papyrus() -> np.ndarray:
    mask = np.zeros(SHAPE, bool)
    mask[500:3500, 300:2700] = True
    mask[::7, ::5] = True  # some texture for the PNG encoder
    return mask


@pytest.mark.parametrize("mode", ["1", "L"])
def test_a_mask_png_decodes_without_copies_of_the_whole_image(tmp_path, mode):
    papyrus = _papyrus()
    path = tmp_path / "mask.png"
    pixels = papyrus if mode == "1" else papyrus.view(np.uint8) * np.uint8(255)
    Image.fromarray(pixels).save(path)
    assert Image.open(path).mode == mode

    mask, peak = traced_peak(lambda: decode_label_image(path, ink=False))

    assert mask.dtype == np.bool_
    np.testing.assert_array_equal(mask, papyrus)
    assert mask.view(np.uint8).max() == 1  # bools of 0 and 1, not bytes of 255
    assert peak < 1.5 * papyrus.nbytes  # was 2x: the pixel bytes joined, then the bool
