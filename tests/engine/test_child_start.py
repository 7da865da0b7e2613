"""Engine children forked from a forkserver that imported torch once (Linux): they start
without importing it again, take this process's environment as it is when each starts, and
the forkserver never initialises CUDA, so a child still may."""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

from inkloop.engine import EngineProcess, Ready, State
from inkloop.engine._child_start import PRELOAD, spawn_child
from tests._engine import folder_labels, process_settings
from tests._events import Recorder, of_kind, state_reached
from tests._helpers import linux_only


class _HomeRelative(EngineProcess):
    """An engine process whose child opens its segment as ``~/<name>``: HOME as it sees it."""

    def _start_child(self, settings):
        home_relative = f"~/{self._spec.segment_path.rsplit('/', 1)[-1]}"
        return spawn_child(replace(self._spec, segment_path=home_relative), settings)


def _parent_of(pid: int) -> int:
    return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])


@linux_only("forkserver (fork), and /proc to see a process's parent")
def test_children_fork_from_one_server_not_from_this_process(training_folder):
    ink, supervised = folder_labels(training_folder)
    parents = []
    for _ in range(2):
        recorder = Recorder()
        with EngineProcess(training_folder, ink, supervised, process_settings(), recorder) as proxy:
            recorder.wait_for(lambda events: of_kind(Ready, events))
            parents.append(_parent_of(proxy.pid))
    assert parents[0] == parents[1] != os.getpid()


def test_a_child_reads_the_environment_as_it_is_when_it_starts(training_folder, monkeypatch):
    ink, supervised = folder_labels(training_folder)
    first = Recorder()  # a child first, so the forkserver runs with the environment before
    with EngineProcess(training_folder, ink, supervised, process_settings(), first):
        first.wait_for(lambda events: of_kind(Ready, events))
    monkeypatch.setenv("HOME", str(training_folder.parent))
    recorder = Recorder()
    with _HomeRelative(training_folder, ink, supervised, process_settings(), recorder):
        failed = state_reached(State.FAILED)
        events = recorder.wait_for(lambda events: of_kind(Ready, events) or failed(events))
    assert of_kind(Ready, events), events


def test_the_forkserver_s_imports_never_touch_cuda():
    counting = (
        "import torch, torch.cuda as cuda\n"
        "calls = []\n"
        "count = torch._C._cuda_getDeviceCount\n"
        "torch._C._cuda_getDeviceCount = lambda: calls.append('count') or count()\n"
        "cuda._lazy_init = lambda: calls.append('init')\n"
        f"for name in {PRELOAD!r}: __import__(name)\n"
        "print(calls, cuda.is_initialized())\n"
    )
    out = subprocess.run([sys.executable, "-c", counting], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["[]", "False"]
