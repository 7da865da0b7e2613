"""An in-process Engine in a script or notebook: what it asked for is done at exit, a dropped
one stops, close finishes a prediction, and a failure nobody listens for is still said."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import weakref
from pathlib import Path

import pytest

from inkloop.engine import CheckpointSaved, Failed, State, _worker
from inkloop.engine._surface import Announcer
from tests._engine import WHOLE, engine_for, rounds_done
from tests._events import TIMEOUT, Recorder, steps_done

ROOT = Path(__file__).resolve().parents[1]

# a script that asks for a save while training and ends, closing nothing
ENDS_WHILE_TRAINING = """
import sys, threading
import numpy as np
sys.path.insert(0, sys.argv[1])
from inkloop.engine import CheckpointSaved, Engine, StepDone
from inkloop.io import open_segment
from inkloop.settings import EngineSettings
from tests._helpers import FULL_RESOLUTION, tiny_model, tiny_training

segment = open_segment(sys.argv[2])
stepped = threading.Event()

def heard(event):
    if isinstance(event, StepDone):
        stepped.set()
    if isinstance(event, CheckpointSaved):
        print("saved", event.path, flush=True)

train = tiny_training(max_steps=1000)
settings = EngineSettings(model=tiny_model(), train=train, composition=FULL_RESOLUTION)
ink, papyrus = np.asarray(segment.ink_labels), np.asarray(segment.mask)
engine = Engine(segment, ink, papyrus, settings, on_event=heard)
engine.start()
assert stepped.wait(120)
engine.save(sys.argv[3])
print("ends", flush=True)
"""


@pytest.mark.slow
def test_a_script_that_ends_while_training_writes_its_queued_save(training_folder, tmp_path):
    out = tmp_path / "model.pt"
    run = subprocess.run(
        [sys.executable, "-c", ENDS_WHILE_TRAINING, str(ROOT), str(training_folder), str(out)],
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
    )
    assert run.returncode == 0, run.stderr  # not 134: torch aborted under a daemon thread
    assert run.stdout.split() == ["ends", "saved", str(out)]
    assert out.is_file()


def test_an_engine_dropped_unclosed_stops_training_and_ends_its_thread(segment):
    recorder = Recorder()
    engine = engine_for(segment, recorder)
    engine.start()
    recorder.wait_for(steps_done(1))
    thread, dropped = engine._thread, weakref.ref(engine)
    del engine  # a notebook cell run again: nothing refers to the first engine
    assert dropped() is None
    thread.join(TIMEOUT)
    assert not thread.is_alive()
    assert recorder.states()[-1] is State.STOPPED


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
@pytest.mark.filterwarnings("ignore:This process .* is multi-threaded")
def test_a_process_forked_beside_a_training_engine_has_no_workers_to_end(segment):
    recorder = Recorder()
    with engine_for(segment, recorder) as engine:
        engine.start()
        recorder.wait_for(steps_done(1))
        with _worker._RUNNING_LOCK:  # held at the fork, as the worker thread may hold it
            pid = os.fork()
            if pid == 0:  # its exit hook must not wait on a lock no thread here releases
                free = _worker._RUNNING_LOCK.acquire(timeout=5)
                os._exit(0 if free and not _worker._RUNNING else 1)
        _, status = os.waitpid(pid, 0)
        engine.stop()
    assert os.waitstatus_to_exitcode(status) == 0


def test_close_finishes_a_prediction_asked_for_before_it(segment):
    recorder = Recorder()
    engine = engine_for(segment, recorder)
    request = engine.predict(WHOLE)
    assert engine.close(TIMEOUT)  # its Stop cuts the prediction short: it is sent again
    assert rounds_done(request, 1)(recorder.events)
    assert not recorder.of(Failed)


def test_close_says_a_whole_segment_prediction_it_ended(segment, tmp_path):
    recorder = Recorder()
    engine = engine_for(segment, recorder)
    engine.start()
    request = engine.predict_segment(tmp_path / "ink.png")  # waits for training to stop
    assert engine.close(TIMEOUT)
    (failure,) = recorder.of(Failed)
    assert failure.request == request
    assert "was not finished: the engine closed" in failure.message
    assert not (tmp_path / "ink.png").exists()


def test_a_failed_save_that_no_listener_hears_is_logged_as_a_warning(segment, caplog):
    refused = segment.path / f"{segment.name}_mask.png"  # the user's error: said at INFO
    heard = Recorder()
    with caplog.at_level(logging.INFO, logger="inkloop.engine"):
        for engine in (engine_for(segment, heard), engine_for(segment, None)):
            engine.save(refused)  # a file the session reads: refused, a Failed
            assert engine.close(TIMEOUT)
    (failure,) = heard.of(Failed)
    assert not heard.of(CheckpointSaved)
    warned = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert warned == [f"inkloop engine: {failure.message}"]  # the unheard one only


def test_an_engine_process_logs_a_failure_no_listener_hears(caplog):
    announcer, heard = Announcer(), Recorder()  # what an EngineProcess tells its listeners with
    with caplog.at_level(logging.WARNING, logger="inkloop.engine"):
        announcer.emit(Failed("a region off the image", request=3))
        announcer.listeners.append(heard)
        announcer.emit(Failed("heard by its listener"))
    assert [r.getMessage() for r in caplog.records] == [
        "inkloop engine: request 3: a region off the image"
    ]
    assert [e.message for e in heard.of(Failed)] == ["heard by its listener"]
