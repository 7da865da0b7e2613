"""The engine in a spawned child process: commands down, events up, crashes and clean ends."""

from __future__ import annotations

import multiprocessing
import os
import signal
from dataclasses import replace

import numpy as np
import pytest

from inkloop.engine import (
    Composed,
    EngineProcess,
    Failed,
    ModelBuilt,
    Notice,
    PredictionReady,
    Ready,
    SegmentPredicted,
    SegmentProgress,
    State,
    StateChanged,
    StepDone,
)
from inkloop.engine._child_os import CHILD_NICENESS
from inkloop.io import SegmentError, read_image
from inkloop.predict import tile_corners
from inkloop.synthetic import write_segment
from tests._engine import BIG, WHOLE, folder_labels, process_settings
from tests._events import TIMEOUT, Recorder, of_kind, state_reached, steps_done
from tests._helpers import posix_only, threads_now


@pytest.fixture(scope="module")
def shared(training_folder):
    """One proxy for the tests that leave it stopped: each child costs seconds of imports."""
    recorder = Recorder()
    ink, supervised = folder_labels(training_folder)
    with EngineProcess(training_folder, ink, supervised, process_settings(), recorder) as proxy:
        # ready before any test runs, so its Ready never lands among a test's own events
        recorder.wait_for(lambda events: of_kind(Ready, events))
        yield proxy, recorder


def test_the_child_gets_ready_and_trains(shared):
    proxy, recorder = shared
    events = recorder.wait_for(lambda events: of_kind(Ready, events))
    (ready,) = of_kind(Ready, events)
    (built,) = of_kind(ModelBuilt, events)  # at set-up, before Ready
    assert events.index(built) < events.index(ready)
    assert built.composition.z_count > 1
    assert built.trained_start is None  # a fresh model
    assert ready.pid == proxy.pid != os.getpid()
    assert ready.seconds > 0
    if hasattr(os, "getpriority"):  # background work: a GUI's draws come first
        mine = os.getpriority(os.PRIO_PROCESS, 0)
        assert os.getpriority(os.PRIO_PROCESS, proxy.pid) == min(mine + CHILD_NICENESS, 19)
    since = recorder.mark()
    proxy.start()
    recorder.wait_for(steps_done(2), since)
    proxy.stop()
    assert proxy.wait(TIMEOUT)
    assert proxy.state is State.STOPPED


def test_states_follow_the_commands(shared):
    proxy, recorder = shared
    since = recorder.mark()
    proxy.start()
    recorder.wait_for(steps_done(1), since)
    assert proxy.state is State.TRAINING  # a run is under way: wait() would block
    proxy.pause()
    recorder.wait_for(state_reached(State.PAUSED), since)
    assert proxy.state is State.PAUSED
    proxy.resume()
    proxy.stop()
    assert proxy.wait(TIMEOUT)
    states = [e.state for e in of_kind(StateChanged, recorder.events[since:])]
    assert states == [State.TRAINING, State.PAUSED, State.TRAINING, State.STOPPED]
    assert proxy.state is State.STOPPED


def test_label_updates_reach_the_child(shared):
    proxy, recorder = shared
    since = recorder.mark()
    proxy.start()
    steps = of_kind(StepDone, recorder.wait_for(steps_done(1), since))
    seen = max(step.labels_version for step in steps)
    proxy.update_labels(np.full((16, 16), 255, np.uint8), np.ones((16, 16), bool), (8, 8, 24, 24))
    recorder.wait_for(
        lambda events: any(e.labels_version > seen for e in of_kind(StepDone, events)), since
    )
    proxy.stop()
    assert proxy.wait(TIMEOUT)
    with pytest.raises(ValueError, match="does not match its box"):
        proxy.update_labels(np.zeros((4, 4), np.uint8), np.zeros((4, 4), bool), (0, 0, 8, 8))
    with pytest.raises(SegmentError, match=r"float ink labels must lie within 0\.\.1"):
        proxy.update_labels(np.full((4, 4), 255.0), np.ones((4, 4), bool), (0, 0, 4, 4))


def test_labels_no_rule_reads_are_refused_before_a_child_starts(training_folder):
    ink, supervised = folder_labels(training_folder)
    with pytest.raises(SegmentError, match=r"float ink labels must lie within 0\.\.1"):
        EngineProcess(training_folder, ink.astype(np.float32), supervised)  # 0..255 floats
    with pytest.raises(ValueError, match="must be an H x W array"):
        EngineProcess(training_folder, ink[None], supervised[None])


def test_batch_workers_of_the_child_train_on_the_labels_sent_to_it(training_folder):
    recorder = Recorder()
    ink, supervised = folder_labels(training_folder)
    settings = process_settings()
    settings = replace(settings, train=replace(settings.train, loader_workers=1))
    with EngineProcess(training_folder, ink, supervised, settings, recorder) as proxy:
        proxy.start()
        recorder.wait_for(steps_done(1))
        proxy.update_labels(np.zeros((96, 128), np.uint8), np.zeros((96, 128), bool), WHOLE)
        # the worker finds nothing left to learn from in the labels it shares with the child
        recorder.wait_for(lambda events: of_kind(Failed, events))
    (failed,) = of_kind(Failed, recorder.events)
    assert failed.message == "no labelled pixels left to train on: paint some labels"
    assert not of_kind(Notice, recorder.events)  # no fall back to a thread: a worker said it


def test_previews_stream_tile_by_tile(shared, training_folder):
    proxy, recorder = shared
    since = recorder.mark()
    request = proxy.preview(WHOLE)

    def complete(events):
        return any(
            e.request == request and e.tiles_done == e.tiles_total
            for e in of_kind(PredictionReady, events)
        )

    updates = [e for e in recorder.wait_for(complete, since) if isinstance(e, PredictionReady)]
    proxy.preview(None)
    mask = folder_labels(training_folder)[1]
    y, x = tile_corners(WHOLE, mask.shape, 64, 32, mask)[0]
    assert updates[0].region == (y, x, y + 64, x + 64)  # the centre first
    assert updates[0].probability.dtype == np.float32
    assert updates[0].probability.shape == (64, 64)
    assert [u.tiles_done for u in updates] == list(range(1, updates[0].tiles_total + 1))


@posix_only("SIGKILL, and the exit code -9 it gives")
def test_a_killed_child_is_reported_and_replaced(training_folder):
    recorder = Recorder()
    ink, supervised = folder_labels(training_folder)  # may start dask's pool, which stays
    threads = threads_now()
    with EngineProcess(
        training_folder, ink, np.zeros_like(supervised), process_settings(), recorder
    ) as proxy:
        proxy.start()  # nothing labelled yet: the child answers with Failed
        recorder.wait_for(lambda events: of_kind(Failed, events))
        first = proxy.pid
        os.kill(first, signal.SIGKILL)
        recorder.wait_for(state_reached(State.FAILED))
        assert proxy.state is State.FAILED
        assert proxy.wait(0)  # nothing runs in a dead process
        proxy.update_labels(ink, supervised, WHOLE)  # kept for the next child
        proxy.start()
        recorder.wait_for(
            lambda events: any(e.labels_version >= 1 for e in of_kind(StepDone, events))
        )
        assert proxy.pid != first
    no_labels, crash = (e.message for e in of_kind(Failed, recorder.events))
    assert "no labelled pixels yet" in no_labels
    assert crash == (
        "the training process ended unexpectedly (exit code -9); "
        "labels are safe, the last checkpoint is none"
    )
    assert [e.pid for e in of_kind(Ready, recorder.events)][-1] == proxy.pid
    assert proxy.pid not in [child.pid for child in multiprocessing.active_children()]
    assert threads_now() <= threads


def test_close_before_ready_leaves_nothing_behind(training_folder):
    threads = threads_now()
    ink, supervised = folder_labels(training_folder)
    proxy = EngineProcess(training_folder, ink, supervised, process_settings())
    proxy.start()
    proxy.close()
    proxy.close()  # idempotent
    assert proxy.join(TIMEOUT)
    assert proxy.pid not in [child.pid for child in multiprocessing.active_children()]
    assert threads_now() <= threads
    with pytest.raises(RuntimeError, match="closed"):
        proxy.start()


def test_a_child_that_cannot_set_up_says_why(tmp_path):
    recorder = Recorder()
    missing = tmp_path / "missing"
    image = np.zeros((8, 8), np.uint8)
    with EngineProcess(missing, image, image.astype(bool), process_settings(), recorder) as proxy:
        recorder.wait_for(state_reached(State.FAILED))
        assert proxy.state is State.FAILED
    (failed,) = of_kind(Failed, recorder.events)
    assert failed.message.startswith("the training process could not start: ")
    assert str(missing) in failed.message


def _ended(request):
    kinds = (SegmentPredicted, Failed, Notice)
    return lambda events: any(isinstance(e, kinds) and e.request == request for e in events)


def test_a_whole_segment_prediction_in_the_child(shared, tmp_path):
    proxy, recorder = shared
    since = recorder.mark()
    request = proxy.predict_segment(tmp_path / "ink", "png")
    # events without a request (Ready when this test runs first) are not this request's
    events = [
        e
        for e in recorder.wait_for(_ended(request), since)
        if getattr(e, "request", None) == request
    ]
    *progress, done = events
    assert isinstance(done, SegmentPredicted)
    assert done.path == str(tmp_path / "ink.png")
    assert progress
    assert all(isinstance(e, SegmentProgress) for e in progress)
    image = read_image(tmp_path / "ink.png", grey=True)
    assert image.shape == WHOLE[2:]
    assert image.dtype == np.uint8
    assert image.max() > 0


def test_an_unwritable_output_fails_before_reaching_the_child(shared, tmp_path):
    proxy, recorder = shared
    since = recorder.mark()
    with pytest.raises(ValueError, match="folder does not exist"):
        proxy.predict_segment(tmp_path / "missing" / "ink.png")
    assert proxy.wait(TIMEOUT)
    assert not recorder.events[since:]
    assert list(tmp_path.iterdir()) == []


def test_compose_in_the_child(shared):
    proxy, recorder = shared
    since = recorder.mark()
    request = proxy.compose((0, 16, 32, 64))
    events = recorder.wait_for(lambda events: of_kind(Composed, events), since)
    (composed,) = of_kind(Composed, events)
    assert composed.request == request
    assert composed.channels.shape == (4, 32, 48)  # the default window of 8 layers: 2..5
    assert composed.names == tuple(f"layer {z}" for z in range(2, 6))


def test_closing_during_a_segment_prediction_returns_promptly(tmp_path):

    folder = write_segment(tmp_path / "big" / "20240202000000", *BIG[1:], BIG[0], seed=7)
    recorder = Recorder()
    ink, supervised = folder_labels(folder)
    settings = replace(process_settings(), block=128)
    proxy = EngineProcess(folder, ink, supervised, settings, recorder)
    proxy.predict_segment(tmp_path / "ink.zarr", tta=True)
    recorder.wait_for(lambda events: of_kind(SegmentProgress, events))
    proxy.close()  # between two blocks: the job ends, unfinished, and so does the child
    assert proxy.join(TIMEOUT)
    assert not proxy.alive
    assert not of_kind(SegmentPredicted, recorder.events)
    assert [p.name for p in tmp_path.iterdir()] == ["big"]  # no partial prediction
