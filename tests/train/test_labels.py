"""LabelStore and PatchSampler: patches only where labels are, updates take effect at once."""

from __future__ import annotations

import numpy as np
import pytest

from inkloop.train import INK_LEVEL, LabelError, LabelStore
from inkloop.train._label_checks import NO_NO_INK


def _store(validation=None) -> LabelStore:
    ink = np.zeros((200, 300), np.uint8)
    supervised = np.zeros((200, 300), bool)
    supervised[20:60, 30:90] = True  # a labelled rectangle ...
    ink[30:40, 40:80] = 255  # ... with a stroke of ink in it
    ink[40:44, 40:80] = INK_LEVEL  # a half-strength edge: still ink
    supervised[150:170, 250:290] = True  # a second, ink-free rectangle
    return LabelStore(ink, supervised, validation)


def test_centres_are_always_labelled_pixels():
    store = _store()
    centres = store.sample_centres(np.random.default_rng(0), 2000, ink_share=0.5)
    assert store.supervised[centres[:, 0], centres[:, 1]].all()
    near_ink = store.ink[centres[:, 0], centres[:, 1]] >= 128
    assert 0.4 < near_ink.mean() < 0.7  # half drawn on ink, plus ink hit by chance
    assert (centres[:, 0] >= 150).any()  # the ink-free rectangle is sampled too


def test_the_ink_share_counts_trainable_pixels_at_or_above_half():
    store = _store()
    assert store.ink_share() == (40 * 14) / (40 * 60 + 20 * 40)  # 255 and 128 count, 0 not
    store.update(np.zeros((20, 40), np.uint8), np.zeros((20, 40), bool), (150, 250, 170, 290))
    assert store.ink_share() == (40 * 14) / (40 * 60)
    assert _store(validation=(0, 0, 200, 300)).ink_share() == 0.0  # nothing trainable


def test_validation_labels_are_never_sampled_nor_weighted():
    store = _store(validation=(0, 0, 100, 60))
    centres = store.sample_centres(np.random.default_rng(1), 2000, ink_share=0.5)
    assert not ((centres[:, 0] < 100) & (centres[:, 1] < 60)).any()
    ink, weight = store.cut(10, 20, 64)
    assert not weight[:, :40].any()  # x < 60 lies in the validation
    assert weight[10:50, 40:64].all()
    assert ink[20, 30] == 1.0
    assert ink[30, 30] == pytest.approx(INK_LEVEL / 255)


def test_labels_painted_over_the_validation_region_stay_out_of_training():
    store = _store(validation=(0, 0, 100, 60))
    store.update(np.full((100, 60), 255, np.uint8), np.ones((100, 60), bool), (0, 0, 100, 60))
    assert store.supervised[:100, :60].all()  # kept for scoring ...
    _, weight = store.cut(0, 0, 100)
    assert not weight[:, :60].any()  # ... but never weighted by the loss
    centres = store.sample_centres(np.random.default_rng(3), 2000, ink_share=0.5)
    assert not ((centres[:, 0] < 100) & (centres[:, 1] < 60)).any()


def test_ink_only_in_the_validation_region_says_so():
    store = _store(validation=(0, 0, 100, 100))  # the stroke's rectangle; the ink-free stays
    with pytest.raises(LabelError, match=r"^all the labelled ink is in the validation region"):
        store.check_trainable()
    store.update(np.zeros((100, 100), np.uint8), np.ones((100, 100), bool), (0, 0, 100, 100))
    with pytest.raises(LabelError, match=r"^the labels hold no ink yet"):  # none anywhere
        store.check_trainable()


def test_update_moves_sampling_to_the_new_labels():
    store = _store()
    version = store.version
    store.update(np.zeros((200, 300), np.uint8), np.zeros((200, 300), bool), (0, 0, 200, 300))
    stroke = np.full((10, 10), 255, np.uint8)
    store.update(stroke, np.ones((10, 10), bool), (100, 100, 110, 110))
    store.update(np.zeros((5, 5), np.uint8), np.ones((5, 5), bool), (0, 0, 5, 5))
    assert store.version == version + 3
    centres = store.sample_centres(np.random.default_rng(2), 500, ink_share=0.5)
    inside = (centres[:, 0] // 10 == 10) & (centres[:, 1] // 10 == 10)
    assert (inside | ((centres[:, 0] < 5) & (centres[:, 1] < 5))).all()


def test_cut_pads_outside_the_image_with_unlabelled_pixels():
    ink, weight = _store().cut(-10, 280, 32)
    assert ink.shape == weight.shape == (32, 32)
    assert not weight[:10].any()
    assert not weight[:, 20:].any()


@pytest.mark.parametrize(
    ("ink_value", "supervise", "message"),
    [
        (0, False, "no labelled pixels yet"),
        (0, True, "hold no ink yet"),
        (255, True, "hold no 'no ink' yet"),
    ],
)
def test_untrainable_labels_say_what_to_do(ink_value, supervise, message):
    store = LabelStore(np.full((64, 64), ink_value, np.uint8), np.full((64, 64), supervise))
    with pytest.raises(LabelError, match=message):
        store.check_trainable()


def test_ink_strokes_with_soft_edges_but_no_no_ink_are_refused_until_no_ink_is_painted():
    ink = np.zeros((64, 64), np.uint8)
    ink[:, :20], ink[:, 20:40] = 255, 60  # full ink, then its soft edge, labelled ...
    supervised = np.zeros((64, 64), bool)
    supervised[:, :40] = True  # ... and nothing at strength 0
    store = LabelStore(ink, supervised)
    with pytest.raises(LabelError) as refused:
        store.check_trainable()
    assert str(refused.value) == NO_NO_INK
    assert "paint some 'no ink'" in NO_NO_INK
    store.update(np.zeros((64, 4), np.uint8), np.ones((64, 4), bool), (0, 60, 64, 64))
    store.check_trainable()  # "no ink" painted: it trains


def test_an_accepted_soft_prediction_without_no_ink_is_told_it_is_not_no_ink():
    """Accept in the overlay's soft view labels each pixel at its probability: none is 0."""
    probability = np.linspace(16, 255, 64 * 64).reshape(64, 64).astype(np.uint8)
    store = LabelStore(probability, np.ones((64, 64), bool))
    with pytest.raises(LabelError) as refused:
        store.check_trainable()
    assert str(refused.value) == NO_NO_INK
    assert "edges of ink strokes" in NO_NO_INK
    assert "accepted prediction" in NO_NO_INK  # not only brush strokes' soft edges


def test_no_ink_only_in_the_validation_region_says_so():
    ink = np.full((64, 64), 255, np.uint8)
    ink[:, 48:] = 0
    store = LabelStore(ink, np.ones((64, 64), bool), validation=(0, 40, 64, 64))
    with pytest.raises(LabelError, match=r"^all the labelled 'no ink' is in the validation region"):
        store.check_trainable()


def test_update_outside_the_image_is_refused():
    with pytest.raises(ValueError, match="outside the 200x300 image"):
        _store().update(np.zeros((10, 10), np.uint8), np.ones((10, 10), bool), (195, 0, 205, 10))


def test_sampling_after_every_label_was_erased_says_so():
    store = _store()
    store.update(np.zeros((200, 300), np.uint8), np.zeros((200, 300), bool), (0, 0, 200, 300))
    with pytest.raises(LabelError, match="no labelled pixels left"):
        store.sample_centres(np.random.default_rng(0), 4, ink_share=0.5)
