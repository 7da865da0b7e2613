"""The session's predictors: shared weights while training, a folded copy once a step otherwise."""

from __future__ import annotations

import numpy as np
import torch

from inkloop.engine import State
from inkloop.engine._session import Session
from inkloop.io import open_segment
from inkloop.settings import EngineSettings
from inkloop.train import LabelStore
from tests._helpers import FULL_RESOLUTION, tiny_model, tiny_training


def _batch_norms(model) -> int:
    return sum(isinstance(module, torch.nn.BatchNorm2d) for module in model.modules())


def test_predictions_fold_the_model_once_a_step_except_while_it_trains(training_folder):
    segment = open_segment(training_folder)
    labels = LabelStore(np.asarray(segment.ink_labels), np.asarray(segment.mask))
    settings = EngineSettings(
        model=tiny_model(), train=tiny_training(), composition=FULL_RESOLUTION
    )
    session = Session(segment, labels, settings)
    trainer = session.ensure_trainer()
    trainer.step()

    idle = session.predictor()
    assert _batch_norms(idle.model) == 0
    assert session.predictor().model is idle.model  # folded once for this step
    assert session.predictor(frozen=True).model is idle.model
    region = (0, 0, 64, 64)

    session.set_state(State.TRAINING)
    live = session.predictor()
    assert live.model is trainer.inference_model  # the weights training goes on changing
    np.testing.assert_allclose(
        live.predict_region(segment, region), idle.predict_region(segment, region), atol=1e-5
    )
    trainer.step()
    frozen = session.predictor(frozen=True)
    assert frozen.model is not idle.model  # new weights, a new fold
    assert _batch_norms(frozen.model) == 0

    session.set_state(State.IDLE)
    assert session.predictor().model is frozen.model
