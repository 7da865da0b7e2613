"""The engine sends up what a loaded checkpoint records of its making (review RD of session
41, finding 1): the dock, which never opens a checkpoint, reads there what the training
behind it held out of the segment's labels."""

from __future__ import annotations

import numpy as np

from inkloop.checkpoint import load_checkpoint
from inkloop.compose import Composition
from inkloop.engine import ModelBuilt
from inkloop.engine._session import Session
from inkloop.engine._wire import decode, encode
from inkloop.settings import EngineSettings
from inkloop.train import LabelStore
from tests._helpers import FULL_RESOLUTION, save_tiny_checkpoint, tiny_model, tiny_training


def _built(segment, init) -> ModelBuilt:
    labels = LabelStore(np.asarray(segment.ink_labels), np.asarray(segment.mask))
    settings = EngineSettings(
        model=tiny_model(), train=tiny_training(), composition=FULL_RESOLUTION, init=init
    )
    session, heard = Session(segment, labels, settings), []
    session.listeners.append(heard.append)
    session.ensure_trainer()
    (built,) = heard
    return built


def test_a_loaded_model_is_built_with_its_provenance(segment, tmp_path):
    model = save_tiny_checkpoint(tmp_path / "model.pt")
    assert _built(segment, None).provenance is None  # a fresh model
    assert _built(segment, model).provenance == load_checkpoint(model).provenance


def test_the_provenance_crosses_the_wire():
    provenance = {"segment": "segA", "labels": {"validation": [0, 0, 8, 8]}, "init": None}
    built = ModelBuilt("resnet18", Composition("raw", 3, 8), 2, provenance=provenance)
    assert decode(encode(built)[4:]) == built
