"""Ctrl-C while a prediction is written: the first press says it is stopping, the second quits
at once, leaving nothing staged behind."""

from __future__ import annotations

import queue
import signal
import subprocess
import sys
import threading

from tests._helpers import WAIT_S, queue_lines, wait_for_line

# a prediction whose one block never finishes: only a second Ctrl-C can end it
NEVER_FINISHING = """
import sys, threading
from pathlib import Path
import dask, dask.array as da, numpy as np
from inkloop.predict._segment import write_prediction

def block():
    print("block started", file=sys.stderr, flush=True)
    threading.Event().wait()

probability = da.from_delayed(dask.delayed(block)(), (8, 8), np.float32)
write_prediction(probability, Path(sys.argv[1]), progress=False, workers=1)
"""


def test_a_second_ctrl_c_quits_at_once_and_removes_what_was_staged(tmp_path):
    out = tmp_path / "p.png"
    process = subprocess.Popen(
        [sys.executable, "-c", NEVER_FINISHING, str(out)],
        stderr=subprocess.PIPE,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    lines, seen = queue.Queue(), []
    threading.Thread(target=queue_lines, args=(process.stderr, lines), daemon=True).start()
    try:
        wait_for_line(lines, "block started", seen)
        assert (tmp_path / ".p.png.partial").exists()
        process.send_signal(signal.SIGINT)
        wait_for_line(lines, "stopping: finishing the blocks in progress (Ctrl-C again", seen)
        process.send_signal(signal.SIGINT)
        wait_for_line(lines, f"interrupted: {out} was not written", seen)
        assert process.wait(timeout=WAIT_S) == 130
    finally:
        process.kill()
    assert list(tmp_path.iterdir()) == []  # neither .p.png.partial nor .p.png.lock
