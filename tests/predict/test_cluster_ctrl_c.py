"""Ctrl+C at a terminal during `inkloop predict --scheduler local:N`: the terminal signals its
whole foreground process group, local workers included. They ignore it (the parent cancels
and closes them), so the run stops with its own message and no worker tracebacks."""

from __future__ import annotations

import os
import queue
import signal
import subprocess
import sys
import threading

import pytest

from inkloop.cli import main
from tests._helpers import WAIT_S, posix_only, queue_lines

pytest.importorskip("distributed")
pytestmark = posix_only("SIGINT sent to a process and to a process group (os.setsid, os.killpg)")

# `inkloop predict` whose blocks never finish until their worker closes: Ctrl+C comes while
# the run is under way, however fast the machine
STALLED = """
import sys, threading
from distributed import WorkerPlugin
import inkloop.predict.batch as batch
from inkloop.cli import main

class Stall(WorkerPlugin):
    def setup(self, worker):
        from inkloop.predict import _segment

        self.closing = threading.Event()

        def stalled(*args):
            print("block started", file=sys.stderr, flush=True)
            self.closing.wait()

        _segment._finish_block = stalled

    def teardown(self, worker):
        self.closing.set()

def stalling(model, jobs, client, **options):
    client.register_plugin(Stall())
    return predict_jobs(model, jobs, client, **options)

predict_jobs, batch.predict_jobs = batch.predict_jobs, stalling
sys.exit(main(["predict", *sys.argv[1:]]))
"""


def _terminal_job() -> None:
    """In the child: its own process group, where SIGINT acts as it does at a terminal."""
    os.setsid()
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})


def _read_until(lines: queue.Queue, text: str | None, seen: list[str]) -> None:
    while (line := lines.get(timeout=WAIT_S)) is not None:
        seen.append(line)
        if text is not None and text in line:
            return
    assert text is None, "".join(seen)


@pytest.mark.slow
def test_local_workers_ignore_ctrl_c(capfd):
    from inkloop.predict.batch import cluster_client

    with cluster_client("local:2", device="cpu") as client:
        pids = client.run(os.getpid)
        for pid in pids.values():
            os.kill(pid, signal.SIGINT)
        assert client.run(os.getpid) == pids  # the same processes answer
    # the workers, ended with their cluster, wrote to this process's stderr
    assert "Traceback" not in capfd.readouterr().err


@pytest.mark.slow
@pytest.mark.parametrize("sigterm", [False, True], ids=["ctrl-c-at-a-terminal", "sigterm"])
def test_ctrl_c_at_a_terminal_stops_the_run_without_worker_tracebacks(
    training_folder, tmp_path, sigterm
):
    """``sigterm``: to inkloop, as a container is stopped (it was killed, leaving its staged
    outputs); the same stop as Ctrl+C."""
    model, out = tmp_path / "model.pt", tmp_path / "out"
    train = ["train", str(training_folder), "--out", str(model), "--max-steps", "1"]
    assert main([*train, "--patch-size", "32", "--device", "cpu", "--quiet"]) == 0
    predict = [str(training_folder), "--model", str(model), "--out-dir", str(out)]
    process = subprocess.Popen(
        [sys.executable, "-c", STALLED, *predict, "--scheduler", "local:1", "--device", "cpu"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        preexec_fn=_terminal_job,
    )
    lines, seen = queue.Queue(), []
    threading.Thread(target=queue_lines, args=(process.stderr, lines), daemon=True).start()
    try:
        _read_until(lines, "block started", seen)
        if sigterm:
            process.terminate()
        else:
            os.killpg(process.pid, signal.SIGINT)
        assert process.wait(timeout=WAIT_S) == 130
        _read_until(lines, None, seen)
    finally:
        process.kill()
    errors = "".join(seen)
    assert "inkloop predict: interrupted" in errors
    assert "Traceback" not in errors
    assert list(out.iterdir()) == []  # nothing staged is left behind
