"""Ctrl+C (a terminal's, or a notebook's Interrupt, which signals the whole process group)
while something starts: the first import of torch in a headless run. The import ends before
KeyboardInterrupt is raised, so the session can import torch again."""

from __future__ import annotations

import contextlib
import os
import queue
import signal
import subprocess
import sys
import threading

import pytest

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
