"""The session's predictors: one inference graph given each step's weights; frozen, its own."""

from __future__ import annotations

import numpy as np

from inkloop.engine import State, predictor_for
from inkloop.engine._session import Session
from inkloop.io import open_segment
from inkloop.settings import EngineSettings
from inkloop.train import LabelStore
from tests._helpers import FULL_RESOLUTION, batch_norms, tiny_model, tiny_training


def test_predictions_use_one_graph_given_each_steps_weights(training_folder, float32_cpu):
    segment = open_segment(training_folder)
    labels = LabelStore(np.asarray(segment.ink_labels), np.asarray(segment.mask))
    settings = EngineSettings(
        model=tiny_model(), train=tiny_training(), composition=FULL_RESOLUTION
    )
    session = Session(segment, labels, settings)
    trainer = session.ensure_trainer()
    trainer.step()
    region = (0, 0, 64, 64)

    def unfolded():  # what the weights being trained predict now
        return predictor_for(settings, trainer).predict_region(segment, region)

    first = session.predictor()
    assert batch_norms(first.model) == 0
    before = first.predict_region(segment, region)
    np.testing.assert_allclose(before, unfolded(), atol=1e-5)
    frozen = session.predictor(frozen=True)
    assert frozen.model is not first.model  # a graph of its own

    session.set_state(State.TRAINING)
    trainer.step()
    live = session.predictor()
    assert live.model is first.model  # the same graph, with the new step's weights
    after = live.predict_region(segment, region)
    np.testing.assert_allclose(after, unfolded(), atol=1e-5)
    assert np.abs(after - before).max() > 1e-3  # the step changed what it predicts
    np.testing.assert_allclose(frozen.predict_region(segment, region), before, atol=1e-6)
