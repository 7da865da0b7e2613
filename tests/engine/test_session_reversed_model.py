"""What the engine says of a loaded model trained on a stack stored back to front (r5 F1):
that it was, where its layers start in the order this stack is read (back to front where the
dock's Reverse says this stack is stored so), and whether this stack is its own, which keeps
the order it was trained with."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from inkloop.checkpoint import load_checkpoint, save_checkpoint
from inkloop.compose import Composition
from inkloop.engine import ModelBuilt
from inkloop.engine._session import Session
from inkloop.settings import EngineSettings
from inkloop.train import LabelStore
from tests._helpers import save_tiny_checkpoint, tiny_model, tiny_training


@pytest.fixture
def reversed_model(segment, tmp_path):
    """``reversed_model(trained_on)``: a tiny checkpoint trained reading a stack back to front,
    on the layers at positions 2..5 as read so (by file number), its window recorded at 0."""

    def saved(trained_on: str):
        depth, numbers = segment.shape[0], segment.layer_numbers
        checkpoint = load_checkpoint(save_tiny_checkpoint(tmp_path / "tiny.pt"))
        checkpoint = dataclasses.replace(
            checkpoint,
            composition=Composition("raw", 0, 4, reverse=True),
            layers=tuple(numbers[depth - 1 - position] for position in range(2, 6)),
            provenance={"segment": trained_on},
        )
        return save_checkpoint(tmp_path / f"on_{trained_on}.pt", checkpoint)

    return saved


def _built(segment, init, reverse: bool) -> ModelBuilt:
    """What a Session on ``segment`` from ``init`` says it built, with the dock's Reverse."""
    labels = LabelStore(np.asarray(segment.ink_labels), np.asarray(segment.mask))
    composition = Composition(scale=1, reverse=reverse)
    settings = EngineSettings(
        model=tiny_model(), train=tiny_training(), composition=composition, init=init
    )
    session, heard = Session(segment, labels, settings), []
    session.listeners.append(heard.append)
    session.ensure_trainer()
    (built,) = [event for event in heard if isinstance(event, ModelBuilt)]
    return built


def test_a_reversed_model_reads_another_stack_back_to_front_where_reverse_says(
    segment, reversed_model
):
    init = reversed_model("elsewhere")

    as_stored = _built(segment, init, reverse=False)
    assert not as_stored.composition.reverse
    assert as_stored.trained_reversed
    assert not as_stored.reversed_as_trained

    declared = _built(segment, init, reverse=True)
    assert declared.composition.reverse
    assert declared.trained_reversed
    # read back to front as trained, its layers are found by their file numbers
    assert declared.composition.z_start == 2
    assert declared.trained_start == 2


def test_a_reversed_model_keeps_its_order_on_its_own_stack(segment, reversed_model):
    built = _built(segment, reversed_model(segment.name), reverse=False)

    assert built.composition.reverse
    assert built.reversed_as_trained
    assert built.trained_start == built.composition.z_start == 2


def test_a_forward_model_says_it_was_not_trained_reversed(segment, tmp_path):
    built = _built(segment, save_tiny_checkpoint(tmp_path / "tiny.pt"), reverse=False)

    assert not built.trained_reversed
    assert not built.reversed_as_trained
