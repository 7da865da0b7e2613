"""Closing the engine process: close() returns at once, the child still ends (and saves)."""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import socket
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from inkloop.checkpoint import load_checkpoint
from inkloop.engine import EngineProcess
from tests._engine import folder_labels, process_settings
from tests._events import TIMEOUT, Recorder, steps_done
from tests._helpers import posix_only, threads_now

ROOT = Path(__file__).parents[2]


@contextlib.contextmanager
def _silent_server():
    """An http:// segment whose server accepts and never answers: a child opening it stays in
    its set-up until the connection closes."""
    with socket.create_server(("127.0.0.1", 0)) as server:
        server.settimeout(TIMEOUT)
        yield f"http://127.0.0.1:{server.getsockname()[1]}/segment.zarr", server


def _held_in_set_up(url: str) -> EngineProcess:
    image = np.zeros((8, 8), np.uint8)
    options = {"timeout": TIMEOUT}  # the read gives up only long after the test has ended
    return EngineProcess(url, image, image.astype(bool), process_settings(), open_options=options)


def test_close_returns_while_the_child_still_sets_itself_up_for_a_save(tmp_path):
    threads = threads_now()
    with _silent_server() as (url, server):
        proxy = _held_in_set_up(url)
        connection, _ = server.accept()  # the child opens the segment: set-up is under way
        proxy.save(tmp_path / "model.pt")  # a Save waits for the set-up, even once closed
        proxy.close()
        assert proxy.alive  # the child cannot have ended: the server holds its set-up up
        connection.close()
    assert proxy.join(TIMEOUT)
    assert not proxy.alive
    assert proxy.pid not in [child.pid for child in multiprocessing.active_children()]
    assert threads_now() <= threads


def test_a_child_closed_during_its_set_up_ends_at_once(tmp_path):
    with _silent_server() as (url, server):
        proxy = _held_in_set_up(url)
        connection, _ = server.accept()
        proxy.close()
        assert proxy.join(TIMEOUT)  # its set-up still waits for the server
        connection.close()
    assert proxy._child.process.exitcode == 0  # it ended itself: not terminated after 20 s
    assert not proxy._labels.folder.exists()


def test_a_save_asked_before_the_set_up_ended_is_written_despite_a_close(training_folder, tmp_path):
    saved = tmp_path / "model.pt"
    proxy = EngineProcess(training_folder, *folder_labels(training_folder), process_settings())
    proxy.save(saved)  # both reach the child during its seconds of imports and set-up
    proxy.close()
    assert proxy.join(TIMEOUT)
    assert load_checkpoint(saved).step == 0


_EXIT_AFTER_CLOSE = """
import sys, threading
from dataclasses import replace
from pathlib import Path
from inkloop.engine import EngineProcess, StepDone
from tests._engine import folder_labels, process_settings

folder, autosave = Path(sys.argv[1]), Path(sys.argv[2])
trained = threading.Event()
settings = replace(process_settings(), autosave=autosave)
proxy = EngineProcess(folder, *folder_labels(folder), settings,
                      lambda event: isinstance(event, StepDone) and trained.set())
proxy.start()
assert trained.wait(120)
print(proxy.pid, flush=True)
proxy.close()  # and the interpreter exits at once
"""


@posix_only("os.kill(pid, 0) to see the child reaped (on Windows it ends the process)")
def test_an_interpreter_exiting_right_after_close_lets_the_child_save_and_end(
    training_folder, tmp_path
):
    autosave = tmp_path / "autosave.pt"
    script = [sys.executable, "-c", _EXIT_AFTER_CLOSE, str(training_folder), str(autosave)]
    done = subprocess.run(script, cwd=ROOT, capture_output=True, text=True, timeout=2 * TIMEOUT)
    assert done.returncode == 0, done.stderr
    assert load_checkpoint(autosave).step >= 1  # saved as the run stopped at close
    with pytest.raises(ProcessLookupError):  # ended, and reaped by its parent
        os.kill(int(done.stdout), 0)


def test_listeners_hear_nothing_once_closed(training_folder):
    recorder = Recorder()
    proxy = EngineProcess(
        training_folder, *folder_labels(training_folder), process_settings(), recorder
    )
    proxy.start()
    recorder.wait_for(steps_done(1))
    proxy.close()
    heard = recorder.mark()
    assert proxy.join(TIMEOUT)  # the child stopped its run, which it announces
    assert recorder.mark() == heard
