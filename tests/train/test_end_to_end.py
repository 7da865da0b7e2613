"""End to end: a tiny model trained on half a synthetic segment finds ink on the other half."""

from __future__ import annotations

import numpy as np
import pytest

from inkloop.engine import Engine, PredictionReady
from inkloop.io import open_segment
from inkloop.metrics import best_scores
from inkloop.settings import EngineSettings
from inkloop.synthetic import write_segment
from tests._helpers import tiny_model, tiny_training


@pytest.mark.slow
def test_training_beats_the_untrained_model_on_unlabelled_pixels(tmp_path):
    # ink three times the default contrast: learnable by an 80k-parameter model in seconds
    folder = write_segment(tmp_path / "seg", 192, 256, 12, seed=11, ink_contrast=0.3)
    segment = open_segment(folder)
    ink, mask = np.asarray(segment.ink_labels), np.asarray(segment.mask)
    labelled, unlabelled = mask.copy(), mask.copy()
    labelled[:, 128:] = False
    unlabelled[:, :128] = False
    train = tiny_training(patch_size=64, batch_size=8, lr=3e-3, warmup_steps=10, max_steps=120)
    settings = EngineSettings(model=tiny_model(), train=train)
    predictions = []
    with Engine(segment, ink, labelled, settings, on_event=_keep(predictions)) as engine:
        engine.predict((0, 0, 192, 256))
        engine.start()
        assert engine.wait(600)
        engine.predict((0, 0, 192, 256))
        assert engine.wait(600)
    untrained, trained = (best_scores(p.probability, ink, unlabelled) for p in predictions)
    assert [p.step for p in predictions] == [0, 120]
    assert untrained.f05 < 0.2  # about the ink fraction: no better than guessing
    assert trained.f05 > untrained.f05 + 0.15


def _keep(predictions: list):
    def listener(event):
        if isinstance(event, PredictionReady):
            predictions.append(event)

    return listener
