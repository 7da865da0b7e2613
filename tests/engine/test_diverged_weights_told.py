"""A step whose loss diverged says whether it left the weights finite: a NaN loss often comes
from weights the update before it made non-finite, which the dock must not keep its engine
for (closing review C13 of session 41, finding 1: it held the engine, whose Check stack, Next
and Predict read p = 0)."""

from __future__ import annotations

import pytest

from inkloop._napari._trained import TrainedWeights
from inkloop.engine import Failed
from tests._engine import engine_for
from tests._events import TIMEOUT, Recorder
from tests._helpers import tiny_training


@pytest.fixture
def inf_weight_before_the_third_step(monkeypatch):
    """The update of step 2 leaves a weight infinite, as one blown up by a high rate would:
    the third step's loss is NaN (the weight scan runs only every `CALIBRATE_EVERY` steps)."""
    import torch

    from inkloop.train import Trainer

    real, steps = Trainer.step, []

    def step(self):
        steps.append(1)
        if len(steps) == 3:
            with torch.no_grad():
                for model in {id(m): m for m in (self.model, self.inference_model)}.values():
                    next(model.parameters()).fill_(float("inf"))
        return real(self)

    monkeypatch.setattr(Trainer, "step", step)


@pytest.fixture
def nan_loss_at_the_third(monkeypatch):
    import inkloop.train._loop as loop

    real, losses = loop.masked_loss, []

    def nan_at_the_third(*args, **kwargs):
        loss = real(*args, **kwargs)
        losses.append(loss)
        return loss * float("nan") if len(losses) >= 3 else loss

    monkeypatch.setattr(loop, "masked_loss", nan_at_the_third)


def _failure(segment) -> str:
    """What the Failed of a run without an autosave (the dock's, where another window holds
    the labels) says."""
    recorder = Recorder()
    with engine_for(segment, recorder, train=tiny_training(max_steps=20)) as engine:
        engine.start()
        assert engine.wait(TIMEOUT)
    (failure,) = recorder.of(Failed)
    assert failure.message.startswith("training diverged at step 2 (loss nan)")
    return failure.message


def test_a_nan_loss_from_weights_not_finite_says_so(segment, inf_weight_before_the_third_step):
    said = _failure(segment)
    assert "1 weight (" in said
    assert "not finite" in said
    trained = TrainedWeights()
    trained.diverged(said, 2)
    assert not trained.held  # the dock ends that engine
    assert trained.engine_ends


def test_a_nan_loss_of_finite_weights_keeps_them_for_a_save(segment, nan_loss_at_the_third):
    said = _failure(segment)
    assert "not finite" not in said
    trained = TrainedWeights()
    trained.diverged(said, 2)
    assert trained.held


def test_a_nan_loss_of_finite_weights_says_they_are_finite(segment, nan_loss_at_the_third):
    # closing review C15 of session 42, finding 3: the dock held the engine where nothing
    # said "not finite", so an older server's Failed or a scan that raised kept unchecked ones
    assert _failure(segment).endswith("; its weights are finite")


def test_a_divergence_that_does_not_say_its_weights_are_finite_ends_the_engine():
    trained = TrainedWeights()  # an engine server of an inkloop from before the check
    trained.diverged("training diverged at step 2 (loss nan); lower the learning rate", 2)
    assert not trained.held
    assert trained.engine_ends


def test_a_weight_scan_that_raises_says_so_and_the_dock_ends_the_engine(
    segment, nan_loss_at_the_third, monkeypatch
):
    def poisoned(state_dict):  # a CUDA error poisoned the context
        raise RuntimeError("CUDA error: an illegal memory access was encountered")

    monkeypatch.setattr("inkloop.engine._training.not_finite", poisoned)
    said = _failure(segment)
    assert said.endswith("; the weights could not be checked (CUDA error: an illegal memory "
                         "access was encountered)")  # fmt: skip
    trained = TrainedWeights()
    trained.diverged(said, 2)
    assert trained.engine_ends
