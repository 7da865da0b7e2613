"""What the engine says of the checkpoint it starts from (r5 F4, F6): the recipe it was trained
with, which the dock (never reading checkpoints: no torch in napari) takes for the next run;
and that it cannot be loaded at all, told apart from a window that does not fit this stack."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from inkloop.checkpoint import CheckpointError, load_checkpoint, save_checkpoint
from inkloop.compose import Composition
from inkloop.engine import ModelBuilt
from inkloop.engine import _events as events
from inkloop.engine._session import Session
from inkloop.engine._wire import decode, encode
from inkloop.settings import Augmentations, EngineSettings, TrainConfig
from inkloop.train import LabelStore
from tests._helpers import FULL_RESOLUTION, save_tiny_checkpoint, tiny_model, tiny_training

RECIPE = TrainConfig(patch_size=96, batch_size=4, lr=3e-4, seed=5, augment=Augmentations(blur=0))


def _session(segment, init, **settings) -> tuple[Session, list]:
    """A Session on ``segment`` starting from ``init``, and the events it emits."""
    labels = LabelStore(np.asarray(segment.ink_labels), np.asarray(segment.mask))
    settings = EngineSettings(
        model=tiny_model(), train=tiny_training(), composition=FULL_RESOLUTION, init=init,
        **settings,
    )  # fmt: skip
    session, heard = Session(segment, labels, settings), []
    session.listeners.append(heard.append)
    return session, heard


def _built(segment, init) -> ModelBuilt:
    session, heard = _session(segment, init)
    session.ensure_trainer()
    (built,) = heard
    return built


def test_a_loaded_model_is_built_with_word_of_the_recipe_it_was_trained_with(segment, tmp_path):
    unrecorded = save_tiny_checkpoint(tmp_path / "old.pt")  # from before inkloop kept recipes
    recorded = tmp_path / "recipe.pt"
    save_checkpoint(recorded, dataclasses.replace(load_checkpoint(unrecorded), train=RECIPE))

    assert _built(segment, None).train is None  # a fresh model
    assert _built(segment, recorded).train == RECIPE
    # its patch size, as `inkloop train --init` takes it
    assert _built(segment, unrecorded).train == TrainConfig(patch_size=32)


@pytest.mark.parametrize("name", ["notes.pt", "gone.pt"])
def test_a_checkpoint_that_cannot_be_loaded_is_said_so(segment, tmp_path, name):
    init = tmp_path / name
    if name == "notes.pt":
        init.write_text("not a model")
    session, heard = _session(segment, init)

    with pytest.raises((CheckpointError, OSError), match=name):
        session.ensure_trainer()

    assert heard == [events.ModelNotLoaded(str(init))]


def test_a_window_off_the_stack_is_no_checkpoint_that_cannot_be_loaded(segment, tmp_path):
    model = save_tiny_checkpoint(tmp_path / "model.pt")
    session, heard = _session(segment, model, init_z_start=segment.shape[0])

    with pytest.raises(ValueError, match=r"model\.pt"):  # First layer fixes it
        session.ensure_trainer()

    assert heard == []


def test_what_the_engine_says_of_a_checkpoint_crosses_the_wire():
    built = ModelBuilt("resnet18", Composition("raw", 3, 8), 2, RECIPE)
    for event in (built, events.ModelNotLoaded("/models/m.pt")):
        assert decode(encode(event)[4:]) == event
