"""What a checkpoint records about its labels, save after save."""

from __future__ import annotations

import numpy as np

from inkloop import rounds
from inkloop.engine._build import checkpoint_provenance
from inkloop.settings import EngineSettings
from inkloop.train import LabelStore


def test_saves_of_unchanged_labels_hash_them_once(segment, monkeypatch):
    hashed = []
    real = rounds.labels_hash
    monkeypatch.setattr(rounds, "labels_hash", lambda *a: hashed.append(1) or real(*a))
    labels = LabelStore(np.asarray(segment.ink_labels), np.asarray(segment.mask))

    first = checkpoint_provenance(EngineSettings(), segment, labels)["labels"]
    assert checkpoint_provenance(EngineSettings(), segment, labels)["labels"] == first
    assert first == {**labels.summary(), "hash": real(labels.ink, labels.supervised)}
    assert len(hashed) == 1  # a pass over every pixel, not one per save

    labels.update(np.full((8, 8), 255, np.uint8), np.ones((8, 8), bool), (0, 0, 8, 8))
    again = checkpoint_provenance(EngineSettings(), segment, labels)["labels"]
    assert again["hash"] == real(labels.ink, labels.supervised) != first["hash"]
    assert again["updates"] == 1
