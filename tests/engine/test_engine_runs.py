"""The engine's runs: to their limit and saved, validated or told why not, from a loaded
model's layers; refusals and failures reported and logged as the user's or as bugs."""

from __future__ import annotations

import errno
import logging

import numpy as np
import pytest

from inkloop.checkpoint import CheckpointError, load_checkpoint
from inkloop.engine import (
    CheckpointSaved,
    Failed,
    ModelBuilt,
    Notice,
    RunStarted,
    State,
    StepDone,
    Validated,
)
from inkloop.engine._events import log_failure
from inkloop.model import ModelSettingsError
from inkloop.train import LabelError
from tests._engine import engine_for
from tests._events import TIMEOUT, Recorder, steps_done
from tests._helpers import FULL_RESOLUTION, tiny_model, tiny_training


def test_an_autosave_that_fails_is_said_once_and_the_run_goes_on(segment, tmp_path):
    """A full disk or a folder gone ended the run at its first autosave; the weights are in
    memory, and a Save elsewhere keeps them."""
    recorder = Recorder()
    (tmp_path / "a file").write_text("")
    gone = tmp_path / "a file" / "auto.pt"  # no folder can be made there: every write fails
    train = tiny_training(max_steps=3)
    with engine_for(segment, recorder, train=train, autosave=gone, autosave_every=0) as engine:
        engine.start()
        assert engine.wait(TIMEOUT)
        assert engine.state is State.FINISHED
        engine.save(tmp_path / "elsewhere.pt")
    assert [e.step for e in recorder.of(StepDone)] == [1, 2, 3]
    (told,) = [e.message for e in recorder.of(Notice) if "autosave" in e.message]
    assert told.startswith(f"could not autosave the model to {gone} (")
    assert not recorder.of(Failed)
    assert load_checkpoint(tmp_path / "elsewhere.pt").step == 3


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


def test_a_stop_between_validations_scores_the_step_it_stopped_at(segment, tmp_path):
    recorder = Recorder()
    validation = (0, 64, 96, 128)  # scored every 50 steps: not before this stop
    out = tmp_path / "auto.pt"
    with engine_for(segment, recorder, autosave=out, validation=validation) as engine:
        engine.start()
        recorder.wait_for(steps_done(2))
        engine.stop()
        assert engine.wait(TIMEOUT)
    stopped_at = recorder.of(StepDone)[-1].step
    assert [v.step for v in recorder.of(Validated)] == [stopped_at]
    order = [type(e) for e in recorder.events if isinstance(e, (Validated, CheckpointSaved))]
    assert order == [Validated, CheckpointSaved]  # the round the save records has it


def test_a_validation_cut_short_is_made_again_at_the_runs_end(segment, monkeypatch):
    from inkloop.engine import _requests

    scored = _requests.validate
    calls = []

    def cut_the_first(*args):  # as a pan right after a step cuts it: no score
        calls.append(args)
        return None if len(calls) == 1 else scored(*args)

    monkeypatch.setattr(_requests, "validate", cut_the_first)
    recorder = Recorder()
    train = tiny_training(max_steps=1)
    with engine_for(
        segment, recorder, train=train, validation=(0, 64, 96, 128), validate_every=1
    ) as engine:
        engine.start()
        assert engine.wait(TIMEOUT)
    assert [v.step for v in recorder.of(Validated)] == [1]  # the run's end scores step 1


def test_each_run_says_what_it_trains_from_which_step(segment):
    recorder = Recorder()
    with engine_for(segment, recorder, train=tiny_training(max_steps=2)) as engine:
        for _ in range(2):
            engine.start()
            assert engine.wait(TIMEOUT)
    started = recorder.of(RunStarted)
    runs = [event.run for event in started]  # each run's own id (its checkpoints carry it)
    expected = [
        RunStarted(s, "tu-test_resnet", "cpu", "float32", "a thread", 4, run)
        for s, run in zip((0, 2), runs, strict=True)
    ]
    assert started == expected
    assert None not in runs
    assert runs[0] != runs[1]
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


def test_a_step_that_fails_ends_the_run_with_the_steps_before_it_saved(
    segment, tmp_path, monkeypatch
):
    """A read the server failed for good (after its retries) ended the run as FAILED and
    lost every step since the last autosave (two minutes by default)."""
    from inkloop.train import Trainer

    step = Trainer.step

    def failing_third(trainer):
        if trainer.step_count == 2:
            raise OSError("the server answered 500 Internal Server Error")
        return step(trainer)

    monkeypatch.setattr(Trainer, "step", failing_third)
    recorder, out = Recorder(), tmp_path / "auto.pt"
    train = tiny_training(max_steps=5)
    with engine_for(segment, recorder, train=train, autosave=out, autosave_every=1e9) as engine:
        engine.start()
        assert engine.wait(TIMEOUT)
        assert engine.state is State.FAILED
    assert [e.step for e in recorder.of(StepDone)] == [1, 2]
    assert load_checkpoint(out).step == 2
