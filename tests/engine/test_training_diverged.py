"""A run whose weights diverge at its last step ends as a failed run, told once as Failed,
whether the step's own check or only the autosave after it sees it; not as a finished run
whose autosave "goes on"."""

from __future__ import annotations

import pytest

from inkloop.engine import Engine, Failed, Notice, State
from inkloop.io import load_labels, open_segment
from inkloop.settings import EngineSettings
from inkloop.train._average import WeightAverage
from tests._helpers import tiny_model, tiny_training


@pytest.mark.parametrize("steps", [1, 3])
def test_a_run_diverged_at_its_last_step_fails(training_folder, tmp_path, monkeypatch, steps):
    averaged, updates = WeightAverage.update, []

    def diverging(self, trained):  # what a far too high learning rate does, at the last step
        averaged(self, trained)
        updates.append(1)
        if len(updates) == steps:
            next(self.module.parameters()).data.fill_(float("nan"))

    monkeypatch.setattr(WeightAverage, "update", diverging)
    segment = open_segment(training_folder)
    ink, supervised, _ = load_labels(segment)
    autosave = tmp_path / "auto.pt"
    train = tiny_training(max_steps=steps)
    settings = EngineSettings(model=tiny_model(), train=train, autosave=autosave)
    events = []
    with Engine(segment, ink, supervised, settings, on_event=events.append) as engine:
        engine.start()
        assert engine.wait(timeout=60)
        # the last step's autosave follows its Finished: closing waits for it
    assert engine.close(timeout=60)  # the worker thread lived on to end: no hang
    assert engine.state is State.FAILED
    told = [event for event in events if isinstance(event, (Failed, Notice))]
    assert [type(event) for event in told] == [Failed]
    assert "diverged" in told[0].message
    assert not autosave.exists()  # never a checkpoint of non-finite weights
