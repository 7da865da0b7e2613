"""Two Ctrl-Cs while a prediction is written: in Python the second raises KeyboardInterrupt
and the interpreter lives on (a notebook's kernel); in the `inkloop` command it quits at
once, exit status 130. Either way nothing staged stays behind."""

from __future__ import annotations

import queue
import signal
import subprocess
import sys
import threading

import pytest

from tests._helpers import SENDS_SIGINT, WAIT_S, queue_lines, wait_for_line

pytestmark = SENDS_SIGINT

# a prediction whose one block runs until released: only a second Ctrl-C ends the wait
HELD_BLOCK = """
import contextlib, sys, threading
from pathlib import Path
import dask, dask.array as da, numpy as np
from inkloop._command import as_command
from inkloop.predict._write import write_prediction

release = threading.Event()

def block():
    print("block started", file=sys.stderr, flush=True)
    release.wait()
    return np.ones((8, 8), np.float32)

probability = da.from_delayed(dask.delayed(block)(), (8, 8), np.float32)
command = as_command() if sys.argv[2] == "command" else contextlib.nullcontext()
try:
    with command:
        write_prediction(probability, Path(sys.argv[1]), progress=False, workers=1)
except KeyboardInterrupt:
    print("KeyboardInterrupt reached the caller", file=sys.stderr, flush=True)
release.set()
for thread in threading.enumerate():  # the block's, then the one removing what it staged
    if thread is not threading.main_thread() and not thread.daemon:
        thread.join()
"""


@pytest.mark.parametrize(
    ("where", "second_press_says", "status"),
    [
        ("python", "KeyboardInterrupt reached the caller", 0),
        ("command", "interrupted: {out} was not written", 130),
    ],
)
def test_a_second_ctrl_c_stops_the_wait_and_leaves_nothing_staged(
    tmp_path, where, second_press_says, status
):
    out = tmp_path / "p.png"
    process = subprocess.Popen(
        [sys.executable, "-c", HELD_BLOCK, str(out), where],
        stderr=subprocess.PIPE,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    lines, seen = queue.Queue(), []
    threading.Thread(target=queue_lines, args=(process.stderr, lines), daemon=True).start()
    try:
        wait_for_line(lines, "block started", seen)
        assert (tmp_path / ".p.png.partial").exists()
        process.send_signal(signal.SIGINT)
        wait_for_line(lines, "stopping: finishing the blocks in progress", seen)
        process.send_signal(signal.SIGINT)
        wait_for_line(lines, second_press_says.format(out=out), seen)
        assert process.wait(timeout=WAIT_S) == status, "".join(seen)
    finally:
        process.kill()
    assert list(tmp_path.iterdir()) == []  # neither .p.png.partial nor .p.png.lock
