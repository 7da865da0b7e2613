"""An engine that made no step writes no autosave: its weights are those it started from, and
a rewrite of that file (``--init X --out X``, the dock's own model) would lose its round, run
and lineage (closing review C9 of session 40, finding 2)."""

from __future__ import annotations

import shutil

import pytest

from inkloop.engine import CheckpointSaved, Engine
from inkloop.io import load_labels, open_segment
from inkloop.settings import EngineSettings
from inkloop.train import Trainer
from inkloop.train._sampler import WaitInterruptedError
from tests._helpers import tiny_model, tiny_training


def _never_a_batch(self):  # the first batch never comes (a slow server)
    raise WaitInterruptedError()


def _failing(self):
    raise RuntimeError("the server went away")


@pytest.mark.parametrize("step", [_never_a_batch, _failing], ids=["stopped", "failed"])
def test_a_run_without_a_step_leaves_the_model_it_continues_as_it_was(
    training_folder, model, tmp_path, monkeypatch, step
):
    monkeypatch.setattr(Trainer, "step", step)
    segment = open_segment(training_folder)
    ink, supervised, _ = load_labels(segment)
    own = shutil.copy(model, tmp_path / "model.pt")
    held = own.read_bytes()
    train = tiny_training(max_steps=3)
    settings = EngineSettings(model=tiny_model(), init=own, train=train, autosave=own)
    events = []
    with Engine(segment, ink, supervised, settings, on_event=events.append) as engine:
        engine.start()
        engine.stop()
        engine.wait(timeout=60)
    assert engine.close(timeout=60)
    assert not [event for event in events if isinstance(event, CheckpointSaved)]
    assert own.read_bytes() == held
