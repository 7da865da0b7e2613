"""SIGTERM stops `inkloop train` and `predict` as a first Ctrl+C also while they start (the
imports, opening the segment, loading labels and model): "interrupted", exit status 130, not
killed silently (143); the engine server still ends on SIGTERM as any program does."""

from __future__ import annotations

import queue
import signal
import subprocess
import sys
import threading

import pytest

from tests._helpers import WAIT_S, posix_only, queue_lines, save_tiny_checkpoint, wait_for_line

SENDS_SIGTERM = posix_only("SIGTERM sent to a child (Windows has no such signal to send)")

# the `inkloop` command whose opening of the segment waits for a line on stdin: it is still
# starting when the test sends SIGTERM
HELD_OPENING = """
import sys
import inkloop.io
from inkloop.cli import main

def held(*args, **kwargs):
    print("opening the segment", file=sys.stderr, flush=True)
    sys.stdin.readline()
    raise AssertionError("SIGTERM did not stop the command")

inkloop.io.open_segment = held
sys.exit(main(sys.argv[1:]))
"""


def _terminated_while(command: list[str], text: str) -> tuple[int, str]:
    """Run ``command``, send it SIGTERM once its stderr says ``text``: its exit status and
    stderr."""
    process = subprocess.Popen(command, stdin=subprocess.PIPE, stderr=subprocess.PIPE)
    lines, seen = queue.Queue(), []
    threading.Thread(target=queue_lines, args=(process.stderr, lines), daemon=True).start()
    try:
        wait_for_line(lines, text, seen)
        process.send_signal(signal.SIGTERM)
        status = process.wait(WAIT_S)
    finally:
        process.kill()
    while (line := lines.get(timeout=WAIT_S)) is not None:
        seen.append(line)
    return status, "".join(seen)


@SENDS_SIGTERM
@pytest.mark.parametrize("name", ["train", "predict"])
def test_sigterm_while_starting_interrupts_the_command(name, training_folder, tmp_path):
    model = save_tiny_checkpoint(tmp_path / "model.pt")
    options = {"train": ["--out", str(tmp_path / "m.pt"), "--init", str(model)],
               "predict": ["--model", str(model), "--out", str(tmp_path / "p.png")]}  # fmt: skip
    command = [sys.executable, "-c", HELD_OPENING, name, str(training_folder), *options[name]]
    status, said = _terminated_while([*command, "--quiet"], "opening the segment")
    assert status == 130, said
    assert said.endswith(f"inkloop {name}: interrupted\n"), said
    assert "Traceback" not in said


@SENDS_SIGTERM
def test_the_engine_server_still_ends_on_sigterm(tmp_path):
    command = [sys.executable, "-m", "inkloop.cli", "engine", "serve", "--root", str(tmp_path)]
    command += ["--port", "0", "--token-file", str(tmp_path / "token")]
    command += ["--folder", str(tmp_path / "sessions")]
    status, said = _terminated_while(command, "inkloop engine: serving")
    assert status == -signal.SIGTERM, said  # as before: killed by it, not "interrupted"
