"""Engine children forked from inkloop's own fork server, which imported torch once (Linux):
they take this process's environment as it is when each starts, are born ignoring Ctrl+C,
leave multiprocessing's per-process forkserver alone, and still say why torch cannot load;
the server never initialises CUDA, so a child still may."""

from __future__ import annotations

import multiprocessing.forkserver
import os
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest

from inkloop.engine import EngineProcess, Failed, Ready, State
from inkloop.engine._child_start import spawn_child
from tests._engine import folder_labels, process_settings
from tests._events import Recorder, of_kind, state_reached
from tests._helpers import linux_only

pytestmark = linux_only("inkloop's fork server (fork), and /proc to see a process's parent")


class _HomeRelative(EngineProcess):
    """An engine process whose child opens its segment as ``~/<name>``: HOME as it sees it."""

    def _start_child(self, settings):
        home_relative = f"~/{self._spec.segment_path.rsplit('/', 1)[-1]}"
        return spawn_child(replace(self._spec, segment_path=home_relative), settings)


def _status(pid: int) -> dict[str, str]:
    lines = Path(f"/proc/{pid}/status").read_text().splitlines()
    return dict(line.split(":\t", 1) for line in lines if ":\t" in line)


def _ready_or_failed(recorder: Recorder) -> list:
    failed = state_reached(State.FAILED)
    return recorder.wait_for(lambda events: of_kind(Ready, events) or failed(events))


@pytest.fixture
def fresh_server():
    """inkloop's fork server stopped before and after: the test's children start a new one."""
    from inkloop.engine._fork_server import SERVER

    SERVER.stop()
    yield SERVER
    SERVER.stop()


def test_children_fork_from_one_server_that_ignores_ctrl_c(training_folder):
    ink, supervised = folder_labels(training_folder)
    user_forkserver = multiprocessing.forkserver._forkserver
    before = user_forkserver._forkserver_pid, list(user_forkserver._preload_modules)
    parents = []
    for _ in range(2):
        recorder = Recorder()
        with EngineProcess(training_folder, ink, supervised, process_settings(), recorder) as proxy:
            recorder.wait_for(lambda events: of_kind(Ready, events))
            parents.append(int(_status(proxy.pid)["PPid"]))
    assert parents[0] == parents[1] != os.getpid()
    sigint = 1 << (2 - 1)
    assert int(_status(parents[0])["SigIgn"], 16) & sigint  # its children are born ignoring it
    # multiprocessing's own forkserver, a user's, is neither started nor changed
    assert (user_forkserver._forkserver_pid, user_forkserver._preload_modules) == before


def test_a_child_reads_the_environment_as_it_is_when_it_starts(training_folder, monkeypatch):
    ink, supervised = folder_labels(training_folder)
    first = Recorder()  # a child first, so the server runs with the environment before
    with EngineProcess(training_folder, ink, supervised, process_settings(), first):
        first.wait_for(lambda events: of_kind(Ready, events))
    monkeypatch.setenv("HOME", str(training_folder.parent))
    recorder = Recorder()
    with _HomeRelative(training_folder, ink, supervised, process_settings(), recorder):
        events = _ready_or_failed(recorder)
    assert of_kind(Ready, events), events


def test_a_torch_that_cannot_load_is_said_by_the_child(
    training_folder, tmp_path, monkeypatch, fresh_server
):
    broken = tmp_path / "broken" / "torch"
    broken.mkdir(parents=True)
    (broken / "__init__.py").write_text("raise OSError('libcudnn_graph.so.9: cannot open')\n")
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(broken.parent), *sys.path]))  # server
    monkeypatch.syspath_prepend(broken.parent)  # the child's, which it takes from this process
    ink, supervised = folder_labels(training_folder)
    recorder = Recorder()
    with EngineProcess(training_folder, ink, supervised, process_settings(), recorder):
        events = _ready_or_failed(recorder)
    (failed,) = of_kind(Failed, events)
    assert failed.message.startswith("the training process could not start: libcudnn_graph")


def test_the_servers_imports_never_touch_cuda():
    counting = (
        "import torch, torch.cuda as cuda\n"
        "calls = []\n"
        "count = torch._C._cuda_getDeviceCount\n"
        "torch._C._cuda_getDeviceCount = lambda: calls.append('count') or count()\n"
        "cuda._lazy_init = lambda: calls.append('init')\n"
        "from inkloop.engine._fork_server import PRELOAD\n"
        "for name in PRELOAD: __import__(name)\n"
        "print(calls, cuda.is_initialized())\n"
    )
    out = subprocess.run([sys.executable, "-c", counting], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["[]", "False"]
