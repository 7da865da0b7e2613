"""A mask or label image the reader cannot use (another size, a damaged file) is left out with
one warning saying why: the volume and the rest still open."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from inkloop._napari._reader import segment_layers
from inkloop._napari._say import say_warning
from inkloop.io import label_paths, open_segment


def _opened(folder):
    """The layers (name, kind, data) the reader makes of ``folder``, and its warnings."""
    layers, notes = segment_layers(open_segment(folder))
    warnings = [message for show, message in notes if show is say_warning]
    return [(kwargs["name"], kind, data) for data, kwargs, kind in layers], warnings


def test_a_mask_of_another_size_is_left_out_and_the_rest_opens(segment_folder):
    name = segment_folder.name
    mask = segment_folder / f"{name}_mask.png"
    Image.fromarray(np.full((60, 96), 255, np.uint8)).save(mask)

    layers, warnings = _opened(segment_folder)

    assert [layer[:2] for layer in layers] == [(name, "image"), ("ink labels", "labels")]
    assert np.asarray(layers[-1][2]).any()  # the labels painted so far
    assert warnings == [
        f"{name} opened without its papyrus mask: {mask}: image is 60x96 but the layers are "
        f"64x96: move it out of {segment_folder} or resize it to 64x96"
    ]


@pytest.mark.parametrize("bad", ["ink", "supervision"])
def test_labels_that_cannot_be_read_are_left_out_with_their_pair(segment_folder, bad):
    name = segment_folder.name
    ink, supervision = label_paths(open_segment(segment_folder))
    if bad == "supervision":  # the ink beside it, alone, would teach the papyrus as no ink
        Image.fromarray(np.full((64, 96), 255, np.uint8)).save(supervision)
    broken = ink if bad == "ink" else supervision
    broken.write_bytes(b"\x89PNG\r\n\x1a\n not an image")

    layers, warnings = _opened(segment_folder)

    assert [layer[:2] for layer in layers] == [
        (name, "image"),
        (f"{name} mask", "labels"),
        ("ink labels", "labels"),
    ]
    assert not np.asarray(layers[-1][2]).any()  # nothing painted yet
    (warning,) = warnings
    assert warning.startswith(
        f"{name} opened without its labels (Save labels would replace them): {broken}: "
        "not a readable image ("
    )


def test_labels_padded_as_the_grand_prize_code_writes_them_open_with_the_segment(segment_folder):
    ink = segment_folder / f"{segment_folder.name}_inklabels.png"
    labels = np.asarray(Image.open(ink))
    padded = np.zeros((256, 256), labels.dtype)
    padded[:64, :96] = labels
    Image.fromarray(padded).save(ink)

    layers, warnings = _opened(segment_folder)

    assert warnings == []
    assert layers[-1][0] == "ink labels"
    assert layers[-1][2].shape == (64, 96)
    assert np.asarray(layers[-1][2]).any()
