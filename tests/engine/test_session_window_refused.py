"""A loaded model whose layers this stack lacks: the engine says so (WindowRefused), so that
the dock's Segment section says First layer moves it, not that it reads its trained layers."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from inkloop.checkpoint import load_checkpoint, save_checkpoint
from inkloop.engine import _events as events
from inkloop.engine._session import Session
from inkloop.engine._wire import decode, encode
from inkloop.settings import EngineSettings
from inkloop.train import LabelStore
from tests._helpers import FULL_RESOLUTION, save_tiny_checkpoint, tiny_model, tiny_training


def _heard(segment, init) -> list:
    """The events a Session starting from ``init`` emits as it fails to build its Trainer."""
    labels = LabelStore(np.asarray(segment.ink_labels), np.asarray(segment.mask))
    settings = EngineSettings(
        model=tiny_model(), train=tiny_training(), composition=FULL_RESOLUTION, init=init
    )
    session, heard = Session(segment, labels, settings), []
    session.listeners.append(heard.append)
    with pytest.raises(ValueError, match="First layer"):
        session.ensure_trainer()
    return heard


def test_layers_the_stack_lacks_are_said_as_a_window_to_move(segment, tmp_path):
    model = save_tiny_checkpoint(tmp_path / "model.pt")
    elsewhere = dataclasses.replace(load_checkpoint(model), layers=(20, 21, 22, 23))
    save_checkpoint(model, elsewhere)
    assert _heard(segment, model) == [events.WindowRefused(str(model))]


def test_an_old_checkpoints_window_off_the_stack_is_said_so_too(segment, tmp_path):
    model = save_tiny_checkpoint(tmp_path / "model.pt")
    window = dataclasses.replace(load_checkpoint(model).composition, z_start=segment.shape[0] - 2)
    old = dataclasses.replace(load_checkpoint(model), layers=(), composition=window)
    save_checkpoint(model, old)
    assert _heard(segment, model) == [events.WindowRefused(str(model))]


def test_window_refused_crosses_the_wire():
    event = events.WindowRefused("/models/m.pt")
    assert decode(encode(event)[4:]) == event
