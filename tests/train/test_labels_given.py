"""Labels given to a LabelStore as arrays, whole or as patches, mean what the same pixels in a
label file mean (`inkloop.io.ink_levels`), and must be of the segment's size."""

from __future__ import annotations

import numpy as np
import pytest

from inkloop.io import SegmentError
from inkloop.train import LabelError, LabelStore

SHAPE = (128, 128)


def _labels() -> tuple[np.ndarray, np.ndarray]:
    ink = np.zeros(SHAPE, np.uint8)
    ink[10:30, 40:90] = 255
    ink[60:70, 20:40] = 204
    return ink, np.ones(SHAPE, bool)


@pytest.mark.parametrize(
    "given",
    [lambda ink: ink / 255.0, lambda ink: (ink / 255).astype(np.float32)],
    ids=["float64", "float32"],
)
def test_float_ink_within_0_and_1_is_its_ink(given):
    ink, supervised = _labels()
    store = LabelStore(given(ink), supervised)
    np.testing.assert_array_equal(store.ink, ink)
    store.check_trainable()


def test_bool_ink_is_full_ink():
    ink, supervised = _labels()
    store = LabelStore(ink > 127, supervised.astype(np.uint8) * 255)
    np.testing.assert_array_equal(store.ink, np.where(ink > 127, 255, 0))
    assert store.supervised.dtype == bool
    assert store.supervised.all()
    store.check_trainable()


@pytest.mark.parametrize("rows", [slice(0, 64), slice(None)])
def test_labels_of_another_size_than_the_segment_are_refused(rows):
    ink, supervised = _labels()
    if rows.stop is None:  # bigger than the segment
        ink, supervised = np.pad(ink, 128), np.pad(supervised, 128)
    else:
        ink, supervised = ink[rows], supervised[rows]
    message = (
        rf"^labels \({ink.shape[0]}, {ink.shape[1]}\) do not match the segment's \(128, 128\)$"
    )
    with pytest.raises(ValueError, match=message):
        LabelStore(ink, supervised, shape=SHAPE)


def test_uint8_ink_and_bool_supervision_are_kept_as_given():
    """No copies of a whole segment's labels (tens of megapixels): the engine's child also
    writes its updates through them into the files its respawn starts from."""
    ink, supervised = _labels()
    store = LabelStore(ink, supervised, shape=SHAPE)
    assert np.shares_memory(store.ink, ink)
    assert np.shares_memory(store.supervised, supervised)


def test_a_float_patch_of_ones_is_full_ink():
    ink, supervised = _labels()
    store = LabelStore(ink, supervised)
    store.update(np.ones((32, 32), np.float32), np.ones((32, 32), np.uint8), (0, 0, 32, 32))
    assert (store.ink[:32, :32] == 255).all()
    assert store.summary()["ink_pixels"] == int(np.count_nonzero(store.ink >= 128))


def test_a_uint8_patch_is_taken_as_it_is():
    """A soft patch (an accepted faint prediction) may top out at 1: not a 0/1 mask."""
    ink, supervised = _labels()
    store = LabelStore(ink, supervised)
    patch = np.zeros((8, 8), np.uint8)
    patch[2:4, 2:4] = 1
    store.update(patch, np.ones((8, 8), bool), (100, 100, 108, 108))
    np.testing.assert_array_equal(store.ink[100:108, 100:108], patch)


def test_a_patch_it_cannot_read_is_refused_and_changes_nothing():
    ink, supervised = _labels()
    store = LabelStore(ink, supervised)
    with pytest.raises(SegmentError, match=r"^float ink labels must lie within 0\.\.1"):
        store.update(np.full((8, 8), 255.0), np.ones((8, 8), bool), (0, 0, 8, 8))
    np.testing.assert_array_equal(store.ink, ink)
    assert store.version == 0


def test_whole_uint8_labels_of_0_and_1_are_a_binary_mask():
    """`(mask > 0).astype(np.uint8)`, the commonest mask: read as a file of it is read."""
    ink, supervised = _labels()
    binary = (ink > 0).astype(np.uint8)
    store = LabelStore(binary, supervised)
    np.testing.assert_array_equal(store.ink, binary * 255)
    store.check_trainable()


def test_ink_too_faint_to_count_says_so():
    ink, supervised = _labels()
    faint = np.where(ink > 0, 100, 0).astype(np.uint8)  # all below half strength
    with pytest.raises(LabelError) as raised:
        LabelStore(faint, supervised).check_trainable()
    inked = int(np.count_nonzero(faint))
    assert str(raised.value) == (
        f"the labels hold no ink yet: all {inked:,} inked pixels are fainter than half "
        "strength (below 128 of 255), too faint to count as ink"
    )
