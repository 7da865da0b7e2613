"""A local cluster started from a script without a main guard: its workers, and those its
nannies start mid-run in place of lost ones, import inkloop and nothing of the script
(`inkloop._spawn.main_hidden`), so they neither run it again nor fail to start."""

from __future__ import annotations

import socket
import subprocess
import sys
import threading

import pytest

pytest.importorskip("distributed")

UNGUARDED = """
import os
from inkloop.predict.batch import cluster_client

with open("runs.txt", "a") as runs:  # once per process that runs this script
    print(os.getpid(), file=runs)
with cluster_client("local:1", device="cpu") as client:
    print("worker", *client.run(os.getpid).values())
"""


@pytest.mark.slow
def test_a_local_cluster_starts_from_a_script_without_a_main_guard(tmp_path):
    (tmp_path / "unguarded.py").write_text(UNGUARDED)
    run = subprocess.run(
        [sys.executable, "unguarded.py"], cwd=tmp_path, capture_output=True, text=True, timeout=120
    )
    assert run.returncode == 0, run.stderr
    assert "Traceback" not in run.stderr
    assert run.stdout.startswith("worker ")
    assert len((tmp_path / "runs.txt").read_text().split()) == 1  # the worker did not run it


RESTARTED = """
import os, signal
from inkloop.predict.batch import cluster_client

with open("runs.txt", "a") as runs:  # once per process that runs this script
    print(os.getpid(), file=runs)
before = dict(os.environ)
with cluster_client("local:1", device="cpu") as client:
    (lost,) = client.run(os.getpid).values()
    os.kill(lost, signal.SIGKILL)  # as the OOM killer would: its nanny starts another
    print("worker", lost, "then", client.submit(os.getpid, pure=False).result(timeout=60))
print("environment kept:", dict(os.environ) == before)
"""


@pytest.mark.slow
def test_a_worker_lost_mid_run_comes_back_without_running_the_script(tmp_path):
    """Its nanny, in the script's process, spawned the new worker with the script as its
    main: that worker ran it again and died starting a cluster of its own, and the run
    waited 5 minutes for a worker before failing. The nanny also set its variables in this
    process's environment again, after the start had put them back."""
    (tmp_path / "restarted.py").write_text(RESTARTED)
    run = subprocess.run(
        [sys.executable, "restarted.py"], cwd=tmp_path, capture_output=True, text=True, timeout=120
    )
    assert run.returncode == 0, run.stderr
    assert "Traceback" not in run.stderr
    restarted, kept = run.stdout.splitlines()
    _worker, lost, _then, again = restarted.split()
    assert again != lost  # a new worker came back
    assert kept == "environment kept: True"
    assert len((tmp_path / "runs.txt").read_text().split()) == 1  # no worker ran it


# a worker's preload: as the worker boots, after its spawn, it waits for the test's look
BOOTING = """
import socket

if "LOOKED" not in globals():  # distributed imports a preload's file, then reloads it
    with socket.create_connection(("127.0.0.1", {port}), timeout=30) as looked:
        looked.recv(1)  # the test has looked (a bound of 30 s, should it never)
    LOOKED = True
"""


def test_the_script_is_hidden_for_a_workers_spawn_only(tmp_path):
    """It was hidden until the worker had booted and registered (on every restart too):
    meanwhile the caller's other threads could not pickle the script's classes
    (`PicklingError: attribute lookup ... on __main__ failed`)."""
    from distributed import Scheduler, SpecCluster

    from inkloop.predict._nanny import script_hiding_nanny

    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(30)  # a bound on a worker that never boots
    (tmp_path / "booting.py").write_text(BOOTING.format(port=listener.getsockname()[1]))
    script, seen = sys.modules["__main__"], []

    def look_while_it_boots() -> None:
        try:
            booting, _ = listener.accept()
        except TimeoutError:
            seen.append("no worker booted")
            return
        with booting:
            seen.append(sys.modules["__main__"] is script)
            booting.sendall(b".")

    looking = threading.Thread(target=look_while_it_boots, daemon=True)
    looking.start()
    options = {"nthreads": 1, "host": "127.0.0.1", "preload": [str(tmp_path / "booting.py")]}
    worker = {"cls": script_hiding_nanny(), "options": options}
    scheduler = {"cls": Scheduler, "options": {"host": "127.0.0.1", "dashboard_address": None}}
    with listener, SpecCluster(workers={"w": worker}, scheduler=scheduler):
        looking.join(timeout=30)
    assert seen == [True]
