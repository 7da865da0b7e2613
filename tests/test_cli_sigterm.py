"""SIGTERM (a batch system's time limit or scancel, a container's stop) stops the `inkloop`
command as a first Ctrl+C does: training saves its last good weights, a prediction removes
what it staged; used as a library, inkloop leaves the process's SIGTERM handling alone."""

from __future__ import annotations

import contextlib
import json
import os
import pty
import queue
import signal
import subprocess
import sys
import termios
import threading

import pytest

from inkloop._command import as_command
from inkloop._terminal import ctrl_c
from inkloop.checkpoint import load_checkpoint
from tests._helpers import WAIT_S, posix_only, queue_lines, save_tiny_checkpoint, wait_for_line

SENDS_SIGTERM = posix_only("SIGTERM sent to a child (Windows has no such signal to send)")

# `inkloop predict` whose block waits for a line on stdin: it is still running when the
# test sends SIGTERM, and ends when the test lets it
HELD_PREDICTION = """
import sys
from inkloop.cli import main
from inkloop.predict._predictor import Predictor

accumulate = Predictor.accumulate

def held(self, *args):
    print("block started", file=sys.stderr, flush=True)
    sys.stdin.readline()
    return accumulate(self, *args)

Predictor.accumulate = held
sys.exit(main(sys.argv[1:]))
"""


def _on_terminal(command: list[str], until: bytes, **popen):
    """Start ``command`` with stderr on a pseudo-terminal (a progress bar redraws there at
    once, not every 30 s as in a log) and wait until stderr shows ``until``; the process,
    and an Event set once its stderr (collected in the bytearray) has ended."""
    controller, terminal = pty.openpty()
    termios.tcsetwinsize(terminal, (24, 160))  # a new one is 0 wide: the bar would be empty
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=terminal, **popen)
    os.close(terminal)
    errors, seen, ended = bytearray(), threading.Event(), threading.Event()

    def read() -> None:
        try:
            while chunk := os.read(controller, 1024):
                errors.extend(chunk)
                if until in errors:
                    seen.set()
        except OSError:  # EIO: the child closed its end
            pass
        finally:
            os.close(controller)
            ended.set()

    threading.Thread(target=read, daemon=True).start()
    assert seen.wait(WAIT_S), errors.decode(errors="replace")
    return process, errors, ended


@SENDS_SIGTERM
@pytest.mark.parametrize("to_the_job", [False, True], ids=["to-inkloop", "to-every-process"])
def test_sigterm_while_training_writes_the_last_good_state(training_folder, tmp_path, to_the_job):
    """``to_the_job``: as a batch system ends a job, to every process of it, the training's
    loader workers too (they ended at once, and the run with them, as failed)."""
    out = tmp_path / "model.pt"
    command = [sys.executable, "-m", "inkloop.cli", "train", str(training_folder)]
    command += ["--out", str(out), "--max-seconds", "600", "--patch-size", "32"]
    command += ["--batch-size", "2", "--device", "cpu", "--encoder", "tu-test_resnet"]
    command += ["--loader-workers", "1"] if to_the_job else []
    process, errors, ended = _on_terminal(command, b"loss=", start_new_session=to_the_job)
    try:
        if to_the_job:
            os.killpg(process.pid, signal.SIGTERM)
        else:
            process.terminate()
        stdout = process.stdout.read()
        assert process.wait(WAIT_S) == 130
    finally:
        process.kill()
    ended.wait(WAIT_S)
    said = errors.decode(errors="replace")
    summary = json.loads(stdout)
    assert summary["interrupted"] is True
    assert load_checkpoint(out).step == summary["steps"] >= 1
    assert f"interrupted: wrote {out} (step {summary['steps']})" in said
    assert "Traceback" not in said


@SENDS_SIGTERM
def test_sigterm_while_predicting_leaves_nothing_staged(training_folder, tmp_path):
    model = save_tiny_checkpoint(tmp_path / "model.pt")
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    command = [sys.executable, "-c", HELD_PREDICTION, "predict", str(training_folder)]
    command += ["--model", str(model), "--out", str(out_dir / "p.png"), "--device", "cpu"]
    process = subprocess.Popen([*command, "--quiet"], stdin=subprocess.PIPE, stderr=subprocess.PIPE)
    lines, seen = queue.Queue(), []
    threading.Thread(target=queue_lines, args=(process.stderr, lines), daemon=True).start()
    try:
        wait_for_line(lines, "block started", seen)
        assert (out_dir / ".p.png.partial").is_dir()
        process.terminate()
        wait_for_line(lines, "stopping: finishing the blocks in progress", seen)
        process.stdin.close()  # the block goes on, and ends
        wait_for_line(lines, "inkloop predict: interrupted", seen)
        assert process.wait(WAIT_S) == 130, "".join(seen)
    finally:
        process.kill()
    assert list(out_dir.iterdir()) == []  # neither .p.png.partial nor .p.png.lock


def _handler(*_):
    """A SIGTERM handler of the process's own (a notebook's, napari's)."""


@pytest.mark.parametrize("command", [False, True], ids=["library", "command"])
def test_sigterm_is_taken_only_in_the_command_and_handed_back(command):
    previous = signal.signal(signal.SIGTERM, _handler)
    try:
        with as_command() if command else contextlib.nullcontext(), ctrl_c() as pressed:
            assert (signal.getsignal(signal.SIGTERM) is _handler) is not command
            if command:
                signal.raise_signal(signal.SIGTERM)
                assert pressed.is_set()  # as a first Ctrl+C: stop after the step and save
        assert signal.getsignal(signal.SIGTERM) is _handler
    finally:
        signal.signal(signal.SIGTERM, previous)
