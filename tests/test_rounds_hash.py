"""The labels' hash and a round's counts are made a band of rows at a time, with the values
the whole image gave (rounds and checkpoints written before still match): at 20000 x 30000
the whole-image hash held 1.2 GB (the masked ink and its bytes), a round's counts 0.6 GB more."""

from __future__ import annotations

import hashlib

import numpy as np
import pytest

from inkloop import _rounds_labels
from inkloop.rounds import labels_hash, new_round
from inkloop.train import INK_LEVEL
from tests._helpers import traced_peak


def _whole_image_hash(ink: np.ndarray, supervised: np.ndarray) -> str:
    """labels_hash as it was before bands (f68a1d7): the reference value."""
    digest = hashlib.sha256()
    supervised = np.ascontiguousarray(supervised, bool)
    digest.update(np.asarray(supervised.shape, np.int64).tobytes())
    digest.update(np.packbits(supervised).tobytes())
    digest.update(np.ascontiguousarray(np.where(supervised, ink, 0), np.uint8).tobytes())
    return digest.hexdigest()[:16]


def _labels(shape, seed=0):
    rng = np.random.default_rng(seed)
    ink = rng.integers(0, 256, shape, dtype=np.uint8)
    supervised = rng.random(shape) < 0.6
    return ink, supervised


# rows not a multiple of 8, widths whose rows end mid-byte, one row, no pixels, 1-D and 3-D
SHAPES = [(), (1, 1), (13,), (7, 3), (9, 5), (37, 11), (64, 13), (101, 17), (0, 5), (5, 0)]
SHAPES += [(3, 5, 7), (19, 2, 3)]


@pytest.mark.parametrize("shape", SHAPES, ids=str)
@pytest.mark.parametrize("band_pixels", [1, 100, 1 << 22], ids=lambda n: f"band{n}")
def test_the_hash_in_bands_is_the_whole_image_hash(monkeypatch, shape, band_pixels):
    # bands of 8 rows; of 8 to 32 rows by the width; one band
    monkeypatch.setattr(_rounds_labels, "_BAND_PIXELS", band_pixels)
    ink, supervised = _labels(shape)

    assert labels_hash(ink, supervised) == _whole_image_hash(ink, supervised)


def test_the_hash_of_labels_given_other_ways_is_the_whole_image_hash(monkeypatch):
    monkeypatch.setattr(_rounds_labels, "_BAND_PIXELS", 40)
    ink, supervised = _labels((45, 23))
    given = [
        (ink, supervised.view(np.uint8) * np.uint8(255)),  # a 0/255 supervision image
        (np.asfortranarray(ink), np.asfortranarray(supervised)),
        (ink[::2, 1::3], supervised[::2, ::3]),  # strided views
        (ink.astype(np.float32) / 255, supervised),  # cast to uint8 as before
        (ink[:1], supervised),  # ink broadcast over the rows
    ]
    for ink_given, supervised_given in given:
        assert labels_hash(ink_given, supervised_given) == _whole_image_hash(
            ink_given, supervised_given
        )


def test_a_hash_holds_a_band_not_the_whole_labels():
    ink, supervised = _labels((4000, 3000))  # 12 MB each; a band is ~4 MB
    value, peak = traced_peak(lambda: labels_hash(ink, supervised))

    assert value == _whole_image_hash(ink, supervised)
    assert peak < ink.nbytes / 2  # was over 2x: the masked ink and its bytes, packed bits


def _round(ink, supervised):
    return new_round(
        1, ink, supervised, accepted_pixels=0, steps=0, validation_f05=None, checkpoint=None
    )


@pytest.mark.parametrize("shape", [(101, 17), (0, 5), (13,), (3, 5, 7)], ids=str)
def test_a_round_counts_in_bands_what_the_whole_image_counts(monkeypatch, shape):
    monkeypatch.setattr(_rounds_labels, "_BAND_PIXELS", 100)
    ink, supervised = _labels(shape)

    round_ = _round(ink, supervised)

    inked = np.count_nonzero(supervised & (ink >= INK_LEVEL))
    assert (round_.ink_pixels, round_.no_ink_pixels) == (inked, supervised.sum() - inked)
    assert round_.labels_hash == _whole_image_hash(ink, supervised)


def test_a_round_holds_a_band_not_the_whole_labels():
    ink, supervised = _labels((4000, 3000))
    _round(ink[:8], supervised[:8])  # first calls import what they use
    round_, peak = traced_peak(lambda: _round(ink, supervised))

    assert round_.ink_pixels == np.count_nonzero(supervised & (ink >= INK_LEVEL))
    # was 1.35x: a whole-image bool of the supervised ink beside a hash band (3x before bands)
    assert peak < ink.nbytes / 2
