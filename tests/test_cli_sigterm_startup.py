"""SIGTERM stops `inkloop train` and `predict` as a first Ctrl+C also while they start (the
imports, opening the segment, loading labels and model): "interrupted", exit status 130, not
killed silently (143); the engine server still ends on SIGTERM as any program does."""

from __future__ import annotations

import signal
import sys

import pytest

from tests._helpers import posix_only, save_tiny_checkpoint, terminated_once_said

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


@SENDS_SIGTERM
@pytest.mark.parametrize("name", ["train", "predict"])
def test_sigterm_while_starting_interrupts_the_command(name, training_folder, tmp_path):
    model = save_tiny_checkpoint(tmp_path / "model.pt")
    options = {"train": ["--out", str(tmp_path / "m.pt"), "--init", str(model)],
               "predict": ["--model", str(model), "--out", str(tmp_path / "p.png")]}  # fmt: skip
    command = [sys.executable, "-c", HELD_OPENING, name, str(training_folder), *options[name]]
    status, said = terminated_once_said([*command, "--quiet"], "opening the segment")
    assert status == 130, said
    assert said.endswith(f"inkloop {name}: interrupted\n"), said
    assert "Traceback" not in said


@SENDS_SIGTERM
def test_the_engine_server_still_ends_on_sigterm(tmp_path):
    command = [sys.executable, "-m", "inkloop.cli", "engine", "serve", "--root", str(tmp_path)]
    command += ["--port", "0", "--token-file", str(tmp_path / "token")]
    command += ["--folder", str(tmp_path / "sessions")]
    status, said = terminated_once_said(command, "inkloop engine: serving")
    assert status == -signal.SIGTERM, said  # as before: killed by it, not "interrupted"
