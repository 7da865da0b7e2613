"""The engine: states, commands, stop latency, live labels, predictions while training."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pytest

from inkloop.engine import Failed, PredictionReady, State, StateChanged, StepDone
from inkloop.engine._commands import Command, Predict, Prepare
from tests._engine import WHOLE, engine_for, predictions, rounds_done
from tests._events import TIMEOUT, Recorder, state_reached, steps_done


def test_states_follow_the_commands(segment):
    recorder = Recorder()
    with engine_for(segment, recorder) as engine:
        assert engine.state is State.IDLE
        engine.start()
        recorder.wait_for(steps_done(1))
        engine.pause()
        recorder.wait_for(state_reached(State.PAUSED))
        paused_steps = len(recorder.of(StepDone))
        engine.resume()
        recorder.wait_for(steps_done(paused_steps + 2))
        engine.stop()
        assert engine.wait(TIMEOUT)
        assert engine.state is State.STOPPED
    assert recorder.states() == [State.TRAINING, State.PAUSED, State.TRAINING, State.STOPPED]


@dataclass(frozen=True)
class Unknown(Command):
    """A command no engine has."""


def test_commands_are_dispatched_by_type_and_unknown_ones_refused(segment):
    recorder = Recorder()
    with engine_for(segment, recorder) as engine:
        with pytest.raises(TypeError, match="the engine has no command Unknown"):
            engine.submit(Unknown())
        engine.submit(Prepare())
        engine.submit(Predict(7, (0, 0, 32, 32)))
        assert engine.wait(TIMEOUT)
        recorder.wait_for(lambda events: predictions(7)(events))
        assert engine.trainer.step_count == 0  # prepared and predicted: no step taken
    assert not recorder.of(Failed)


def test_prepare_makes_the_preview_graph_so_the_first_preview_only_refreshes_it(
    segment, monkeypatch
):
    import threading

    import inkloop.predict

    made, make, traced = [], inkloop.predict.inference_graph, threading.Event()

    def counted(model):
        graph = make(model)
        made.append(graph)
        traced.set()
        return graph

    monkeypatch.setattr(inkloop.predict, "inference_graph", counted)
    recorder = Recorder()
    with engine_for(segment, recorder) as engine:
        engine.submit(Prepare())
        assert traced.wait(TIMEOUT)  # at Prepare, before anyone waits for a preview
        engine.submit(Predict(7, (0, 0, 32, 32)))
        recorder.wait_for(lambda events: predictions(7)(events))
    assert len(made) == 1  # the preview took that graph
    assert not recorder.of(Failed)


def test_stop_takes_effect_within_one_step(segment):
    recorder = Recorder()
    with engine_for(segment, recorder) as engine:
        engine.start()
        recorder.wait_for(steps_done(2))
        steps_at_stop = len(recorder.of(StepDone))
        engine.stop()
        assert engine.wait(TIMEOUT)
        assert len(recorder.of(StepDone)) <= steps_at_stop + 1
        assert engine.state is State.STOPPED


def test_labels_sent_while_training_join_from_the_next_batch(segment):
    recorder = Recorder()
    with engine_for(segment, recorder) as engine:
        engine.start()
        recorder.wait_for(steps_done(2))
        stroke = np.full((16, 16), 255, np.uint8)
        engine.update_labels(stroke, np.ones((16, 16), bool), (10, 10, 26, 26))
        steps_at_update = len(recorder.of(StepDone))
        recorder.wait_for(steps_done(steps_at_update + 3))
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
    with engine_for(segment, recorder) as engine:
        engine.start()
        recorder.wait_for(steps_done(1))
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
    with engine_for(segment, recorder) as engine:
        engine.start()
        engine.predict((0, 0, 500, 500))
        recorder.wait_for(lambda events: any(isinstance(e, Failed) for e in events))
        (failed,) = recorder.of(Failed)
        steps = len(recorder.of(StepDone))
        recorder.wait_for(steps_done(steps + 1))
        assert engine.state is State.TRAINING
        engine.stop()
        assert engine.wait(TIMEOUT)
    assert (
        "region 0:500,0:500 (rows, columns) is empty or outside the 96x128 segment"
        in failed.message
    )


def test_a_prediction_cut_short_by_a_command_is_finished_after_it(segment):
    recorder = Recorder()
    with engine_for(segment, recorder, tile=64) as engine:

        def pause_on_first_tile(event):
            if isinstance(event, PredictionReady) and len(predictions()(recorder.events)) == 1:
                engine.pause()

        engine.start()
        recorder.wait_for(steps_done(1))
        engine.subscribe(pause_on_first_tile)
        request = engine.predict(WHOLE)
        recorder.wait_for(rounds_done(request, 1))
        engine.stop()
        assert engine.wait(TIMEOUT)
    kinds = [
        e.state if isinstance(e, StateChanged) else e.tiles_done
        for e in recorder.events
        if isinstance(e, (PredictionReady, StateChanged))
    ]
    assert kinds[:4] == [State.TRAINING, 1, State.PAUSED, 1]  # paused between tiles, then anew
    assert kinds[-2:] == [6, State.STOPPED]
