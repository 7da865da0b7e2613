"""An engine child's ends that nobody asked for: a Ctrl+C in the terminal leaves it to its
parent to end, and when it is killed its shared memory goes with it, not when the dock or the
engine server exits."""

from __future__ import annotations

import os
import signal
import time
from dataclasses import replace

import pytest

from inkloop.engine import EngineProcess, Failed
from tests._engine import folder_labels, process_settings
from tests._events import TIMEOUT, Recorder, of_kind, steps_done
from tests._helpers import linux_only
from tests.engine._shared_memory import shared_memory_of, still_named


def _until(done, timeout: float = TIMEOUT) -> bool:
    """Poll ``done()`` until it is true; False if ``timeout`` seconds pass first."""
    deadline = time.monotonic() + timeout
    while not done():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


@pytest.mark.slow
@linux_only("a Ctrl+C as SIGINT; /proc/PID/maps and /dev/shm, to see the child's shared memory")
def test_ctrl_c_leaves_the_child_to_its_parent_and_a_kill_takes_its_shared_memory(
    training_folder, capfd
):
    recorder = Recorder()
    ink, supervised = folder_labels(training_folder)
    settings = process_settings()
    settings = replace(settings, train=replace(settings.train, loader_workers=1))
    with EngineProcess(training_folder, ink, supervised, settings, recorder) as proxy:
        proxy.start()  # its batch worker shares the labels, the batch slots and locks with it
        recorder.wait_for(steps_done(1))
        os.kill(proxy.pid, signal.SIGINT)  # as a terminal's Ctrl+C reaches its process group
        since = recorder.mark()
        events = recorder.wait_for(
            lambda events: of_kind(Failed, events) or steps_done(2)(events), since
        )
        assert not of_kind(Failed, events)  # it trains on: ending it is its parent's to do
        shared = shared_memory_of(proxy.pid)
        assert len(still_named(shared)) >= 3  # labels, slots, and at least a lock
        os.kill(proxy.pid, signal.SIGKILL)
        # gone once its worker saw it die, while this process (the dock) goes on
        assert _until(lambda: not still_named(shared)), still_named(shared)
    printed = capfd.readouterr().err
    assert "KeyboardInterrupt" not in printed
    assert "Traceback" not in printed
