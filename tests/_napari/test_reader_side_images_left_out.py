"""A mask or label image the reader cannot use (another size, a damaged file) is left out with
one warning saying why: the volume and the rest still open. Labels whose supervision was the
mask go with it, and a damaged autosaved copy is passed over for the saved labels."""

from __future__ import annotations

import os
import time

import numpy as np
import pytest
from PIL import Image

from inkloop._napari._reader import segment_layers
from inkloop._napari._say import say_warning
from inkloop.brush import decode_labels
from inkloop.io import label_paths, open_segment, save_labels

NOT_AN_IMAGE = b"\x89PNG\r\n\x1a\n not an image"  # a damaged PNG: its signature, no image


def _opened(folder):
    """The layers (name, kind, data) the reader makes of ``folder``, and its warnings."""
    _, layers, notes = segment_layers(open_segment(folder))
    warnings = [message for show, message in notes if show is say_warning]
    return [(kwargs["name"], kind, data) for data, kwargs, kind in layers], warnings


def _with_supervision(folder):
    """``folder``'s labels given a supervision mask of their own (a few rows labelled)."""
    supervised = np.zeros((64, 96), np.uint8)
    supervised[10:20] = 255
    Image.fromarray(supervised).save(label_paths(open_segment(folder))[1])
    return supervised > 0


def _mask_of_another_size(folder):
    mask = folder / f"{folder.name}_mask.png"
    Image.fromarray(np.full((60, 96), 255, np.uint8)).save(mask)
    return mask


def test_a_mask_of_another_size_is_left_out_and_the_rest_opens(segment_folder):
    name = segment_folder.name
    supervised = _with_supervision(segment_folder)
    mask = _mask_of_another_size(segment_folder)

    layers, warnings = _opened(segment_folder)

    assert [layer[:2] for layer in layers] == [(name, "image"), ("ink labels", "labels")]
    np.testing.assert_array_equal(decode_labels(layers[-1][2])[1], supervised)
    assert warnings == [
        f"{name} opened without its papyrus mask: {mask}: image is 60x96 but the layers are "
        f"64x96: move it out of {segment_folder} or resize it to 64x96. Finetune, "
        "predictions and Check stack read the mask as well, and fail on it until it is "
        "mended or moved out"
    ]


def test_labels_whose_supervision_was_the_mask_are_left_out_with_it(segment_folder):
    # Kaggle / Grand Prize labels: no supervision mask, the papyrus mask says what is labelled
    name = segment_folder.name
    mask = _mask_of_another_size(segment_folder)

    layers, warnings = _opened(segment_folder)

    assert [layer[:2] for layer in layers] == [(name, "image"), ("ink labels", "labels")]
    assert not np.asarray(layers[-1][2]).any()  # not every pixel labelled "no ink"
    assert warnings == [
        f"{name} opened without its papyrus mask and its labels (Save labels would replace "
        f"them): {mask}: image is 60x96 but the layers are 64x96: move it out of "
        f"{segment_folder} or resize it to 64x96. Its labels have no supervision mask of "
        "their own: the papyrus mask says which pixels they label, and without it every "
        'pixel would be, the air as "no ink" (moving the mask out would do that too). '
        "Finetune, predictions and Check stack read the mask as well, and fail on it until "
        "it is mended"
    ]


@pytest.mark.parametrize("bad", ["ink", "supervision"])
def test_labels_that_cannot_be_read_are_left_out_with_their_pair(segment_folder, bad):
    name = segment_folder.name
    ink, supervision = label_paths(open_segment(segment_folder))
    if bad == "supervision":  # the ink beside it, alone, would teach the papyrus as no ink
        Image.fromarray(np.full((64, 96), 255, np.uint8)).save(supervision)
    broken = ink if bad == "ink" else supervision
    broken.write_bytes(NOT_AN_IMAGE)

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


def _autosaved_after_a_crash(folder, *, without_mask=False):
    """Autosaved copies of a stroke beside ``folder``'s labels, newer than them (a crash);
    the copies, and the codes the saved labels open with."""
    saved = segment_layers(open_segment(folder))[1][-1][0]
    segment = open_segment(folder)
    ink, supervised = np.zeros((64, 96), np.uint8), np.zeros((64, 96), bool)
    ink[30:34], supervised[28:36] = 255, True
    copies = save_labels(segment, ink, supervised, autosave=True)
    if without_mask:  # the process was killed between the two renames
        copies[1].unlink()
        copies = copies[:1]
    later = time.time_ns() + 10**9
    for path in copies:
        os.utime(path, ns=(later, later))
    return list(copies), saved


@pytest.mark.parametrize("damaged", [0, 1], ids=["ink", "supervision"])
def test_a_damaged_autosaved_copy_opens_the_saved_labels_and_says_so(segment_folder, damaged):
    name = segment_folder.name
    copies, saved = _autosaved_after_a_crash(segment_folder)
    copies[damaged].write_bytes(NOT_AN_IMAGE)

    layers, warnings = _opened(segment_folder)

    assert [layer[:2] for layer in layers][-1] == ("ink labels", "labels")
    np.testing.assert_array_equal(layers[-1][2], saved)
    (warning,) = warnings
    assert warning.startswith(
        f"{name}: its autosaved labels cannot be read ({copies[damaged]}: not a readable image"
    )
    assert warning.endswith(
        f"it opened its saved labels {name}_inklabels.png instead. The first stroke's "
        f"autosave replaces {copies[0].name} and {copies[1].name}, and Save labels removes "
        f"them: to keep them, move them out of {segment_folder} first"
    )
    assert copies[damaged].read_bytes() == NOT_AN_IMAGE  # kept as it was


def test_a_damaged_ink_copy_autosaved_without_its_mask_opens_the_saved_labels(segment_folder):
    name = segment_folder.name
    (copy,), saved = _autosaved_after_a_crash(segment_folder, without_mask=True)
    copy.write_bytes(NOT_AN_IMAGE)

    layers, warnings = _opened(segment_folder)

    np.testing.assert_array_equal(layers[-1][2], saved)
    (warning,) = warnings
    assert warning.startswith(f"{name}: its autosaved labels cannot be read ({copy}: ")
    assert f"autosave replaces {copy.name}, and Save" in warning
