"""A step that fails ends the run with its weights autosaved before the failure is told, so
that whoever hears the Failed (the dock) knows which step the model file holds: a NaN loss
leaves finite weights, which that autosave keeps (closing review C1 of session 41, finding 2)."""

from __future__ import annotations

import pytest

from inkloop.engine import CheckpointSaved, Engine, Failed, State, StateChanged
from inkloop.io import load_labels, open_segment
from inkloop.settings import EngineSettings
from tests._helpers import tiny_model, tiny_training


@pytest.fixture
def nan_loss_at_the_third(monkeypatch):
    import inkloop.train._loop as loop

    real, losses = loop.masked_loss, []

    def nan_at_the_third(*args, **kwargs):
        loss = real(*args, **kwargs)
        losses.append(loss)
        return loss * float("nan") if len(losses) >= 3 else loss

    monkeypatch.setattr(loop, "masked_loss", nan_at_the_third)


def _told(events) -> list[str]:
    said = []
    for event in events:
        if isinstance(event, CheckpointSaved):
            said.append(f"saved step {event.step}")
        elif isinstance(event, Failed):
            said.append("failed")
        elif isinstance(event, StateChanged) and event.state is State.FAILED:
            said.append("FAILED")
    return said


def test_a_loss_divergence_is_told_after_its_steps_autosave(
    training_folder, tmp_path, nan_loss_at_the_third
):
    segment = open_segment(training_folder)
    ink, supervised, _ = load_labels(segment)
    train = tiny_training(max_steps=20)
    out = tmp_path / "model.pt"
    settings = EngineSettings(model=tiny_model(), train=train, autosave=out, autosave_every=3600)
    events = []
    with Engine(segment, ink, supervised, settings, on_event=events.append) as engine:
        engine.start()
        assert engine.wait(60)

    (saved,) = [event for event in events if isinstance(event, CheckpointSaved)]
    assert _told(events) == [f"saved step {saved.step}", "failed", "FAILED"]
    (failure,) = [event for event in events if isinstance(event, Failed)]
    assert failure.message.startswith("training diverged at step")


def test_a_failed_step_whose_autosave_raises_is_still_told(training_folder, tmp_path, monkeypatch):
    """A step failing with a CUDA error poisons the context, so its autosave's copy to the CPU
    raises too: the run still ends as Failed (saying the autosave failed), the worker lives
    (closing review C9 of session 41, finding 2)."""
    import inkloop.train._loop as loop

    cuda_error = RuntimeError("CUDA error: an illegal memory access was encountered")
    real, losses = loop.masked_loss, []

    def fails_at_the_third(*args, **kwargs):
        losses.append(1)
        if len(losses) >= 3:
            raise cuda_error
        return real(*args, **kwargs)

    def poisoned(self, provenance=None):
        raise cuda_error

    monkeypatch.setattr(loop, "masked_loss", fails_at_the_third)
    monkeypatch.setattr(loop.Trainer, "checkpoint", poisoned)
    segment = open_segment(training_folder)
    ink, supervised, _ = load_labels(segment)
    settings = EngineSettings(
        model=tiny_model(), train=tiny_training(max_steps=20), autosave=tmp_path / "m.pt"
    )
    events = []
    with Engine(segment, ink, supervised, settings, on_event=events.append) as engine:
        engine.start()
        assert engine.wait(60)
        assert engine.state is State.FAILED
        engine.pause()  # the worker still answers
        assert engine.wait(60)
    assert _told(events) == ["failed", "FAILED"]
    (failure,) = [event for event in events if isinstance(event, Failed)]
    assert failure.message.startswith("CUDA error")
    assert "could not be autosaved" in failure.message
