"""Ctrl+C (a terminal's, or a notebook's Interrupt, which signals the whole process group)
while something starts: the first import of torch in a headless run, and a spawned child's
interpreter. The import ends before KeyboardInterrupt is raised, so the session can import
torch again; the child lives on, and the press reaches the parent."""

from __future__ import annotations

import contextlib
import os
import queue
import signal
import subprocess
import sys
import threading

import pytest

from inkloop._spawn import start_spawned
from inkloop.synthetic import write_segment
from tests._helpers import SENDS_SIGINT, WAIT_S, _terminal_ctrl_c, queue_lines, wait_for_line

pytestmark = SENDS_SIGINT

# a torch whose import waits part way for the test's Ctrl+C: the real one takes seconds, and
# once cut short it cannot be imported again ("partially initialized module 'torch'")
SLOW_TORCH = """
import sys
print("importing torch", flush=True)
sys.stdin.readline()  # the test presses Ctrl+C, then sends this line


def _go_on():  # entering a function runs a Ctrl+C handler not run yet
    pass


_go_on()
COMPLETE = True
"""

HEADLESS_CALL = """
import sys
import numpy as np
from inkloop.headless import predict_to_file, train_to_file
from inkloop.settings import EngineSettings

call, segment, model, out = sys.argv[1:]
labels = np.zeros((64, 96), bool)
try:
    if call == "train_to_file":
        train_to_file(segment, labels, labels, EngineSettings(), out, progress=False)
    else:
        predict_to_file(segment, model, out, progress=False)
except KeyboardInterrupt:
    imported = getattr(sys.modules.get("torch"), "COMPLETE", False)
    print("KeyboardInterrupt; torch imported:", imported)
"""


@pytest.mark.parametrize("call", ["train_to_file", "predict_to_file"])
def test_ctrl_c_while_torch_imports_is_raised_once_it_is_imported(tmp_path, call):
    for package, code in (("torch", SLOW_TORCH), ("segmentation_models_pytorch", "")):
        (tmp_path / "fake" / package).mkdir(parents=True)
        (tmp_path / "fake" / package / "__init__.py").write_text(code)
    segment = write_segment(tmp_path / "20231012184423", 64, 96, 4)
    model = tmp_path / "model.pt"  # predict_to_file's, which Ctrl+C keeps it from reading
    model.write_bytes(b"not a checkpoint")
    out = tmp_path / ("out.pt" if call == "train_to_file" else "out.png")
    paths = [str(tmp_path / "fake"), *filter(None, [os.environ.get("PYTHONPATH")])]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(paths)}
    command = [sys.executable, "-c", HEADLESS_CALL, call, str(segment), str(model), str(out)]
    output = _pressed_at("importing torch", command, env=env)
    assert "KeyboardInterrupt; torch imported: True" in output


# imported by a spawned child as it unpickles its target: waits part way through the child's
# start for the test, which presses Ctrl+C first (its stdin is still its parent's)
GATE = """
import os
import signal
import sys

if "GATE_WAITS" in os.environ:  # the child, not the parent that pickles
    print("child starting", flush=True)
    sys.stdin.readline()


def work():
    from inkloop._spawn import ignore_ctrl_c

    ignore_ctrl_c()
    blocked = signal.SIGINT in signal.pthread_sigmask(signal.SIG_BLOCK, [])
    print("child working; SIGINT blocked:", blocked, flush=True)
"""

SPAWNING = """
import multiprocessing
import os
import signal
import sys
import threading

sys.path.insert(0, sys.argv[1])
import gate
from inkloop._spawn import start_spawned

os.environ["GATE_WAITS"] = "1"

pressed = []
signal.signal(signal.SIGINT, lambda *_: pressed.append(1))  # as a run takes Ctrl+C
process = multiprocessing.get_context("spawn").Process(target=gate.work)
if sys.argv[2] == "thread":  # the engine's thread starts the batch workers
    starter = threading.Thread(target=start_spawned, args=(process,))
    starter.start()
    starter.join()
else:
    start_spawned(process)
process.join()
print("child exit code:", process.exitcode, "; presses here:", len(pressed), flush=True)
"""


@pytest.mark.parametrize("starter", ["main", "thread"])
def test_ctrl_c_while_a_spawned_child_starts_leaves_it_running(tmp_path, starter):
    (tmp_path / "gate.py").write_text(GATE)
    output = _pressed_at(
        "child starting",
        [sys.executable, "-c", SPAWNING, str(tmp_path), starter],
        start_new_session=True,  # a group of its own, to be signalled whole as a terminal does
    )
    assert "child working; SIGINT blocked: False" in output
    assert "child exit code: 0 ; presses here: 1" in output


def test_a_ctrl_c_while_a_process_starts_is_held_then_delivered_here():
    handled, seen = [], []
    previous = signal.signal(signal.SIGINT, lambda *_: handled.append(1))
    mask = signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})  # as at a terminal

    class Starting:
        def start(self) -> None:
            signal.pthread_kill(threading.get_ident(), signal.SIGINT)
            seen.append((signal.SIGINT in signal.sigpending(), len(handled)))

    try:
        start_spawned(Starting())
        unblocked_after = signal.SIGINT not in signal.pthread_sigmask(signal.SIG_BLOCK, [])
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, mask)
        signal.signal(signal.SIGINT, previous)
    assert seen == [(True, 0)]  # held while the process started
    assert handled == [1]  # then delivered
    assert unblocked_after


def _pressed_at(marker: str, command: list[str], **popen) -> str:
    """Run ``command``; once it prints ``marker``, press Ctrl+C (SIGINT to its process group
    where it has one of its own, else to it), then send a line to its stdin; returns all it
    printed."""
    process = subprocess.Popen(
        command,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        preexec_fn=_terminal_ctrl_c,
        **popen,
    )
    lines, seen = queue.Queue(), []
    threading.Thread(target=queue_lines, args=(process.stdout, lines), daemon=True).start()
    try:
        wait_for_line(lines, marker, seen)
        if popen.get("start_new_session"):
            os.killpg(process.pid, signal.SIGINT)
        else:
            process.send_signal(signal.SIGINT)
        with contextlib.suppress(BrokenPipeError):  # it may have ended already
            process.stdin.write(b"go\n")
            process.stdin.close()
        process.wait(timeout=WAIT_S)
    finally:
        process.kill()
    while (line := lines.get(timeout=WAIT_S)) is not None:
        seen.append(line)
    return "".join(seen)
