"""The engine: states, stop latency, live labels, predictions, checkpoints, failures."""

from __future__ import annotations

import threading

import numpy as np
import pytest

from inkloop.engine import (
    CheckpointSaved,
    Engine,
    EngineSettings,
    Failed,
    PredictionReady,
    State,
    StateChanged,
    StepDone,
    Validated,
)
from inkloop.io import open_segment
from inkloop.model import load_checkpoint
from inkloop.train import LabelError
from tests.conftest import tiny_model, tiny_training

TIMEOUT = 120  # generous: CI machines are slow; a hang still fails


class Recorder:
    """Collects events from the worker thread; tests wait on conditions, never on time."""

    def __init__(self) -> None:
        self.events: list = []
        self._changed = threading.Condition()

    def __call__(self, event) -> None:
        with self._changed:
            self.events.append(event)
            self._changed.notify_all()

    def wait_for(self, predicate, timeout: float = TIMEOUT) -> None:
        with self._changed:
            assert self._changed.wait_for(lambda: predicate(self.events), timeout), self.events

    def of(self, kind) -> list:
        with self._changed:
            return [e for e in self.events if isinstance(e, kind)]

    def states(self) -> list[State]:
        return [e.state for e in self.of(StateChanged)]


def _steps(count):
    return lambda events: sum(isinstance(e, StepDone) for e in events) >= count


def _state(state):
    return lambda events: any(getattr(e, "state", None) is state for e in events)


@pytest.fixture
def segment(training_folder):
    return open_segment(training_folder)


def _engine(segment, recorder, supervised=None, **settings) -> Engine:
    train = settings.pop("train", tiny_training())
    settings = EngineSettings(model=tiny_model(), train=train, **settings)
    ink = np.asarray(segment.ink_labels)
    supervised = np.asarray(segment.mask) if supervised is None else supervised
    return Engine(segment, ink, supervised, settings, on_event=recorder)


def test_states_follow_the_commands(segment):
    recorder = Recorder()
    with _engine(segment, recorder) as engine:
        assert engine.state is State.IDLE
        engine.start()
        recorder.wait_for(_steps(1))
        engine.pause()
        recorder.wait_for(_state(State.PAUSED))
        paused_steps = len(recorder.of(StepDone))
        engine.resume()
        recorder.wait_for(_steps(paused_steps + 2))
        engine.stop()
        assert engine.wait(TIMEOUT)
        assert engine.state is State.STOPPED
    assert recorder.states() == [State.TRAINING, State.PAUSED, State.TRAINING, State.STOPPED]


def test_stop_takes_effect_within_one_step(segment):
    recorder = Recorder()
    with _engine(segment, recorder) as engine:
        engine.start()
        recorder.wait_for(_steps(2))
        steps_at_stop = len(recorder.of(StepDone))
        engine.stop()
        assert engine.wait(TIMEOUT)
        assert len(recorder.of(StepDone)) <= steps_at_stop + 1
        assert engine.state is State.STOPPED


def test_labels_sent_while_training_join_from_the_next_batch(segment):
    recorder = Recorder()
    with _engine(segment, recorder) as engine:
        engine.start()
        recorder.wait_for(_steps(2))
        stroke = np.full((16, 16), 255, np.uint8)
        engine.update_labels(stroke, np.ones((16, 16), bool), (10, 10, 26, 26))
        steps_at_update = len(recorder.of(StepDone))
        recorder.wait_for(_steps(steps_at_update + 3))
        engine.stop()
        assert engine.wait(TIMEOUT)
    later = recorder.of(StepDone)[steps_at_update + 1 :]
    assert later
    assert all(step.labels_version == 1 for step in later)
    assert recorder.states() == [State.TRAINING, State.STOPPED]  # no restart
    assert recorder.of(StepDone)[-1].step == len(recorder.of(StepDone))


def test_predictions_come_back_while_training(segment):
    recorder = Recorder()
    mask = np.asarray(segment.mask)
    with _engine(segment, recorder) as engine:
        engine.start()
        recorder.wait_for(_steps(1))
        request = engine.predict((8, 16, 72, 112))
        recorder.wait_for(lambda events: any(isinstance(e, PredictionReady) for e in events))
        engine.stop()
        assert engine.wait(TIMEOUT)
    ready = recorder.of(PredictionReady)[0]
    assert ready.request == request
    assert ready.probability.shape == (64, 96)
    assert ready.probability.min() >= 0
    assert ready.probability.max() <= 1
    assert not ready.probability[~mask[8:72, 16:112]].any()  # nothing off the papyrus
    assert ready.probability[mask[8:72, 16:112]].std() > 0


def test_a_bad_request_fails_alone_and_training_goes_on(segment):
    recorder = Recorder()
    with _engine(segment, recorder) as engine:
        engine.start()
        engine.predict((0, 0, 500, 500))
        recorder.wait_for(lambda events: any(isinstance(e, Failed) for e in events))
        (failed,) = recorder.of(Failed)
        steps = len(recorder.of(StepDone))
        recorder.wait_for(_steps(steps + 1))
        assert engine.state is State.TRAINING
        engine.stop()
        assert engine.wait(TIMEOUT)
    assert "region (0, 0, 500, 500) is outside the 96x128 segment" in failed.message


def test_a_run_finishes_at_its_limit_and_saves(segment, tmp_path):
    recorder = Recorder()
    out = tmp_path / "auto.pt"
    train = tiny_training(max_steps=3)
    holdout = (0, 64, 96, 128)
    with _engine(segment, recorder, train=train, autosave=out, holdout=holdout) as engine:
        engine.start()
        assert engine.wait(TIMEOUT)
        assert engine.state is State.FINISHED
        engine.save(tmp_path / "asked.pt")
    assert [e.step for e in recorder.of(StepDone)] == [1, 2, 3]
    assert [e.path for e in recorder.of(CheckpointSaved)] == [str(out), str(tmp_path / "asked.pt")]
    assert load_checkpoint(out).step == 3
    assert load_checkpoint(out).provenance["labels"]["holdout"] == list(holdout)
    (validated,) = recorder.of(Validated)
    assert 0 <= validated.f05 <= 1


def test_no_labels_are_refused_before_training(segment):
    recorder = Recorder()
    empty = np.zeros(segment.shape[1:], bool)
    with _engine(segment, recorder, supervised=empty) as engine:
        with pytest.raises(LabelError, match="no labelled pixels yet"):
            engine.start()
        assert engine.state is State.IDLE
    assert recorder.events == []


def test_a_failing_start_reports_and_keeps_the_engine_usable(segment, tmp_path):
    recorder = Recorder()
    missing = tmp_path / "missing.pt"
    with _engine(segment, recorder, init=missing) as engine:
        engine.start()
        recorder.wait_for(lambda events: any(isinstance(e, Failed) for e in events))
        (failed,) = recorder.of(Failed)
        assert "missing.pt: no such checkpoint file" in failed.message
        assert engine.state is State.IDLE
