"""An engine child killed (the OOM killer, say) is replaced by one that starts from the last
checkpoint saved, not from the model the dock first loaded: no training is lost but the steps
since that save. (The replacement and its labels: test_process.py.)"""

from __future__ import annotations

import os
import signal

import pytest

from inkloop.engine import CheckpointSaved, EngineProcess, Failed, RunStarted, State
from tests._engine import folder_labels, process_settings
from tests._events import Recorder, of_kind, state_reached


@pytest.mark.slow  # two engine children, each importing torch
def test_a_killed_child_is_replaced_by_one_from_the_last_checkpoint(training_folder, tmp_path):
    recorder = Recorder()
    saved = tmp_path / "saved-before-the-kill.pt"
    ink, supervised = folder_labels(training_folder)
    with EngineProcess(training_folder, ink, supervised, process_settings(), recorder) as proxy:
        proxy.save(saved)
        recorder.wait_for(lambda events: of_kind(CheckpointSaved, events))
        os.kill(proxy.pid, signal.SIGKILL)
        recorder.wait_for(state_reached(State.FAILED))
        proxy.start()
        (run,) = of_kind(RunStarted, recorder.wait_for(lambda e: of_kind(RunStarted, e)))
        proxy.stop()
    (crash,) = of_kind(Failed, recorder.events)
    assert crash.message.endswith(f"labels are safe, the last checkpoint is {saved}")
    assert (run.init or {}).get("checkpoint") == saved.name  # None: a fresh model
