"""Grey layers saved as colour (R = G = B, r3 F6): refused, with the command that fixes them."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from inkloop.io import SegmentError, open_segment


def test_grey_layers_saved_as_colour_are_refused_with_the_command_that_makes_them_grey(tmp_path):
    folder = tmp_path / "my scan" / "layers"  # a space: the command quotes the folder
    folder.mkdir(parents=True)
    for number in range(4):
        grey = np.full((16, 16), 40 * number, np.uint8)
        Image.fromarray(np.stack([grey] * 3, axis=-1)).save(folder / f"{number:02d}.png")

    with pytest.raises(SegmentError) as refused:
        open_segment(folder.parent)

    assert str(refused.value) == (
        f"{folder}/00.png: a colour image; layers must be single-channel grey (grey saved as "
        f"colour is made grey in place by `mogrify -colorspace Gray '{folder}'/*.png`)"
    )
