"""The dock's preview of the view (review R1, findings 1 and 3): a fresh model's is asked for
once its warm-up ends, not at its first step, whose p sits just above 0.5 nearly everywhere;
a continued model's at once. What the dock says the view shows (``predicted_step``) is the
oldest weights among the tiles of the round that completed it."""

from __future__ import annotations

import numpy as np
import pytest

from inkloop._napari._loop_panel import NBSP
from inkloop.engine import PredictionReady, RunStarted, State, StateChanged, StepDone
from inkloop.settings import EngineSettings, TrainConfig
from tests._napari._fakes import FakeEngine, patch_in_dock

WARMUP = 5


class PreviewedEngine(FakeEngine):
    """A FakeEngine that keeps the preview requests it was asked."""

    def __init__(self, *args, **kw) -> None:
        super().__init__(*args, **kw)
        self.previews = []

    def preview(self, region, every) -> int:
        self.previews.append(region)
        return len(self.previews)


@pytest.fixture
def training(painting, qtbot, monkeypatch):
    """Finetune & preview clicked on a fake engine with a warm-up of WARMUP steps:
    (the loop, its engine)."""
    made = []
    monkeypatch.setattr(FakeEngine, "made", made)
    patch_in_dock(monkeypatch, "EngineProcess", PreviewedEngine)
    _viewer, widget = painting
    loop = widget.loop
    loop.settings = EngineSettings(train=TrainConfig(warmup_steps=WARMUP))
    widget.model_panel.show_settings(loop.settings)  # the run takes the panel's choices
    loop.finetune()
    qtbot.waitUntil(lambda: bool(made) and made[0].starts == 1)
    loop.panel_status = lambda: widget.loop_panel.status.text().replace(NBSP, " ")
    return loop, made[0]


def _report(loop, *events) -> None:
    for event in events:
        loop.event_received.emit(loop.generation, event)


def _run_started(step: int) -> RunStarted:
    return RunStarted(step, "tu-test_resnet", "cpu", "float32")


def _step(step: int) -> StepDone:
    return StepDone(step, 0.5, 1e-3, 9.0, 8, 0, None)


def test_a_fresh_model_previews_the_view_once_its_warm_up_ends(training):
    loop, engine = training
    _report(loop, _run_started(0), StateChanged(State.TRAINING, State.IDLE))
    _report(loop, *[_step(step) for step in range(1, WARMUP)])
    assert engine.previews == []  # nothing asked of an untrained model
    status = loop.panel_status()
    assert status.endswith(f"preview from step {WARMUP}"), status  # said, not a blank wait
    _report(loop, _step(WARMUP))
    assert engine.previews == [loop.view.visible_region()]
    assert "preview from" not in loop.panel_status()
    _report(loop, _step(WARMUP + 1))
    assert len(engine.previews) == 1  # once


def test_a_continued_model_previews_the_view_when_training_starts(training):
    loop, engine = training
    _report(loop, _run_started(WARMUP), StateChanged(State.TRAINING, State.IDLE))
    assert engine.previews == [loop.view.visible_region()]


def test_the_view_counts_as_predicted_with_the_oldest_weights_of_its_round(training):
    loop, _engine = training
    _report(loop, _run_started(40), StateChanged(State.TRAINING, State.IDLE))
    request = loop.view.request
    y0, x0, y1, x1 = loop.view.visible_region()
    middle = (y0 + y1) // 2
    top, bottom = (y0, x0, middle, x1), (middle, x0, y1, x1)

    def tile(box, step, done):
        probability = np.zeros((box[2] - box[0], box[3] - box[1]), np.float32)
        return PredictionReady(request, box, step, probability, done, 2)

    _report(loop, tile(top, 40, 1), tile(bottom, 47, 2))  # a step between the two
    assert loop.predicted_step == 40
    _report(loop, tile(top, 47, 1), tile(bottom, 47, 2))  # the round after a Stop at 47
    assert loop.predicted_step == 47
