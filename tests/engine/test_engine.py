"""The engine: states, stop latency, live labels, predictions, checkpoints, failures."""

from __future__ import annotations

import errno
import logging
from dataclasses import dataclass

import numpy as np
import pytest

from inkloop.checkpoint import CheckpointError, load_checkpoint
from inkloop.engine import (
    CheckpointSaved,
    Failed,
    ModelBuilt,
    Notice,
    PredictionReady,
    RunStarted,
    State,
    StateChanged,
    StepDone,
    Validated,
)
from inkloop.engine._commands import Command, Predict, Prepare
from inkloop.engine._requests import log_failure
from inkloop.io import open_segment
from inkloop.model import ModelSettingsError
from inkloop.train import LabelError
from tests._engine import WHOLE, engine_for, predictions, rounds_done
from tests._events import TIMEOUT, Recorder, state_reached, steps_done
from tests._helpers import FULL_RESOLUTION, tiny_model, tiny_training


@pytest.fixture
def segment(training_folder):
    return open_segment(training_folder)


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


def test_a_run_finishes_at_its_limit_and_saves(segment, tmp_path):
    recorder = Recorder()
    out = tmp_path / "auto.pt"
    train = tiny_training(max_steps=3)
    validation = (0, 64, 96, 128)
    with engine_for(segment, recorder, train=train, autosave=out, validation=validation) as engine:
        engine.start()
        assert engine.wait(TIMEOUT)
        assert engine.state is State.FINISHED
        engine.save(tmp_path / "asked.pt")
    assert [e.step for e in recorder.of(StepDone)] == [1, 2, 3]
    assert [e.path for e in recorder.of(CheckpointSaved)] == [str(out), str(tmp_path / "asked.pt")]
    assert load_checkpoint(out).step == 3
    assert load_checkpoint(out).provenance["labels"]["validation"] == list(validation)
    (validated,) = recorder.of(Validated)  # the validation scored once, at the end
    assert validated.step == 3
    precision, recall = validated.precision, validated.recall
    expected = 1.25 * precision * recall / (0.25 * precision + recall) if precision + recall else 0
    assert validated.f05 == pytest.approx(expected)
    assert 0.05 <= validated.threshold <= 0.95


def test_each_run_says_what_it_trains_from_which_step(segment):
    recorder = Recorder()
    with engine_for(segment, recorder, train=tiny_training(max_steps=2)) as engine:
        for _ in range(2):
            engine.start()
            assert engine.wait(TIMEOUT)
    started = recorder.of(RunStarted)
    expected = [RunStarted(s, "tu-test_resnet", "cpu", "float32", "a thread", 4) for s in (0, 2)]
    assert started == expected
    assert recorder.events.index(started[0]) < recorder.events.index(recorder.of(StepDone)[0])


def test_no_labels_are_refused_before_training(segment):
    recorder = Recorder()
    empty = np.zeros(segment.shape[1:], bool)
    with engine_for(segment, recorder, supervised=empty) as engine:
        with pytest.raises(LabelError, match="no labelled pixels yet"):
            engine.start()
        assert engine.state is State.IDLE
    assert recorder.events == []


def test_a_failing_start_reports_and_keeps_the_engine_usable(segment, tmp_path, caplog):
    recorder = Recorder()
    missing = tmp_path / "missing.pt"
    with (
        caplog.at_level(logging.INFO, "inkloop"),
        engine_for(segment, recorder, init=missing) as engine,
    ):
        engine.start()
        recorder.wait_for(lambda events: any(isinstance(e, Failed) for e in events))
        (failed,) = recorder.of(Failed)
        assert "missing.pt: no such checkpoint file" in failed.message
        assert engine.state is State.IDLE
    (logged,) = [record for record in caplog.records if "failed" in record.getMessage()]
    assert logged.levelno == logging.INFO  # the user's file: one line, no traceback
    assert logged.exc_info is None
    assert logged.getMessage().endswith(f"failed: {missing}: no such checkpoint file")


@pytest.mark.parametrize(
    "bug", [RuntimeError("a bug"), ValueError("a bug"), OSError(errno.EBADF, "a bug")]
)
def test_an_unexpected_failure_is_logged_with_its_traceback(caplog, bug):
    with caplog.at_level(logging.INFO, "inkloop"):
        try:
            raise bug
        except Exception as error:
            log_failure("inkloop engine: step", error)
    (logged,) = caplog.records
    assert logged.levelno == logging.ERROR
    assert logged.getMessage() == "inkloop engine: step failed"
    assert "raise bug" in caplog.text  # the traceback, for the bug report


def test_a_loaded_model_reads_the_layers_it_was_trained_on_or_where_it_is_moved(segment, tmp_path):
    recorder, model = Recorder(), tmp_path / "model.pt"
    with engine_for(segment, recorder) as engine:
        engine.save(model)
        assert engine.wait(TIMEOUT)
    for z_start in (None, 0):
        with engine_for(segment, recorder, init=model, init_z_start=z_start) as engine:
            engine.prepare()
            assert engine.wait(TIMEOUT)
    built = recorder.of(ModelBuilt)
    trained = FULL_RESOLUTION.resolve(segment.shape[0]).z_start
    assert trained > 0
    assert [b.composition.z_start for b in built] == [trained, trained, 0]
    assert [b.trained_start for b in built] == [None, trained, trained]  # None: a fresh model
    assert built[0].encoder == tiny_model().encoder


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


# -- whole-segment predictions: progress, file, interruptions; the composed model input ------


@pytest.mark.parametrize(
    ("validation", "said"),
    [
        ((0, 64, 96, 128), "the validation region holds no labels: nothing to score"),
        (  # labelled, all papyrus: as `inkloop evaluate` says, no score but 0 could come of it
            (64, 0, 96, 128),
            "the validation region's labels hold no ink: every score would be 0; none is given",
        ),
    ],
)
def test_a_validation_region_that_cannot_score_is_said_at_the_start_and_not_scored(
    segment, validation, said
):
    recorder = Recorder()
    supervised = np.asarray(segment.mask).copy()
    supervised[:, 64:] = False  # nothing labelled right of x = 64; no ink below y = 64
    train = tiny_training(max_steps=2)
    with engine_for(segment, recorder, supervised, train=train, validation=validation) as e:
        e.start()
        assert e.wait(TIMEOUT)
    (notice,) = recorder.of(Notice)
    assert notice.message == said
    assert not recorder.of(Validated)


@pytest.mark.parametrize(
    "error",
    [
        CheckpointError("m.pt: not an inkloop checkpoint"),
        ModelSettingsError("CUDA graphs need a CUDA device; this trains on cpu"),
        OSError(errno.ENOSPC, "No space left on device"),
        PermissionError(errno.EACCES, "Permission denied"),
    ],
)
def test_the_users_files_settings_or_disk_are_logged_in_one_line(caplog, error):
    with caplog.at_level(logging.INFO, "inkloop"):
        log_failure("inkloop engine: Save()", error)
    (logged,) = caplog.records
    assert (logged.levelno, logged.exc_info) == (logging.INFO, None)
    assert logged.getMessage() == f"inkloop engine: Save() failed: {error}"
