"""LabelStore on a whole segment's labels: counted, sampled, summed and hashed without passes
or copies the size of the segment where its per-cell counts will do."""

from __future__ import annotations

import numpy as np

from inkloop import rounds
from inkloop.train import LabelStore
from tests._helpers import traced_peak


def _striped(shape=(16384, 1024)) -> tuple[np.ndarray, np.ndarray]:
    """Labels everywhere: rows of ink, of soft ink and of "no ink" in turn."""
    ink = np.zeros(shape, np.uint8)
    ink[::3], ink[1::3] = 255, 140
    return ink, np.ones(shape, bool)


def test_a_store_counts_its_labels_without_whole_segment_copies():
    ink, supervised = _striped()
    # its own trainable mask, and a band's masks: no int32 copy, no whole-segment masks
    assert traced_peak(lambda: LabelStore(ink, supervised))[1] < 2 * supervised.nbytes


def test_the_summary_counts_every_labelled_pixel_from_the_cells():
    ink, supervised = _striped()
    store = LabelStore(ink, supervised, validation=(100, 50, 700, 333))
    patch = np.zeros((40, 70), np.uint8)
    patch[:10] = 200
    store.update(patch, np.arange(40 * 70).reshape(40, 70) % 3 > 0, (680, 300, 720, 370))

    summary = {}
    assert traced_peak(lambda: summary.update(store.summary()))[1] < supervised.nbytes / 10
    labelled = store.supervised
    assert summary["supervised_pixels"] == np.count_nonzero(labelled)  # the region's too
    assert summary["ink_pixels"] == np.count_nonzero(labelled & (store.ink >= 128))
    assert summary["soft_pixels"] == np.count_nonzero(labelled & (store.ink % 255 > 0))
    assert summary["updates"] == 1


def test_a_seed_draws_what_rng_choice_drew_reading_only_the_labelled_cells():
    ink, supervised = np.zeros((4096, 4096), np.uint8), np.zeros((4096, 4096), bool)
    supervised[100:200, 300:400], ink[120:140, 300:400] = True, 255
    supervised[3000:3010, 50:4000] = True
    store = LabelStore(ink, supervised)
    counts = store._cells_supervised.ravel()
    drawn = np.random.default_rng(7).choice(counts.size, 50, p=counts / counts.sum())
    centres = store.sample_centres(np.random.default_rng(7), 50, ink_share=0.0)
    assert ((centres // 32) @ [store._cells_ink.shape[1], 1] == drawn).all()

    rng = np.random.default_rng(8)
    # less than a float per cell of the segment: its cells' shares are kept between draws
    assert traced_peak(lambda: store.sample_centres(rng, 8, 0.5))[1] < counts.size * 8


def test_the_labels_hash_is_kept_until_the_labels_change(monkeypatch):
    hashed = []
    real = rounds.labels_hash
    monkeypatch.setattr(rounds, "labels_hash", lambda *a: hashed.append(1) or real(*a))
    store = LabelStore(*_striped((64, 96)))
    first = store.labels_hash()
    assert store.labels_hash() == first == real(store.ink, store.supervised)
    assert len(hashed) == 1
    store.update(np.zeros((4, 4), np.uint8), np.ones((4, 4), bool), (0, 0, 4, 4))
    assert store.labels_hash() == real(store.ink, store.supervised) != first
    assert len(hashed) == 2


def test_labels_painted_while_they_are_hashed_are_hashed_as_painted(monkeypatch):
    store = LabelStore(*_striped((64, 96)))
    real = rounds.labels_hash

    def painted_meanwhile(ink, supervised):
        if store.version == 0:
            store.update(np.zeros((4, 4), np.uint8), np.zeros((4, 4), bool), (8, 8, 12, 12))
        return real(ink, supervised)

    monkeypatch.setattr(rounds, "labels_hash", painted_meanwhile)
    assert store.labels_hash() == real(store.ink, store.supervised)
    assert store._kept["hash"] == (1, real(store.ink, store.supervised))
