"""An engine process closed as Python exits (an atexit hook, or a thread that outlives the
main one): its child ends on the closing thread, which must not wait on itself."""

from __future__ import annotations

import subprocess
import sys

import pytest

CLOSED_AT_EXIT = """
import atexit
import numpy as np
from inkloop.engine import EngineProcess
from inkloop.synthetic import write_segment

folder = write_segment("seg", 64, 64, 4, seed=1)
engine = EngineProcess(folder, np.zeros((64, 64), np.uint8), np.zeros((64, 64), bool))
print("ready", engine.wait(100), flush=True)

def close():
    engine.close()
    print("joined", engine.join(60), flush=True)

atexit.register(close)
"""


@pytest.mark.slow
def test_an_engine_closed_as_python_exits_ends_its_child(tmp_path):
    (tmp_path / "closed_at_exit.py").write_text(CLOSED_AT_EXIT)
    run = subprocess.run(
        [sys.executable, "closed_at_exit.py"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=150,
    )
    assert run.returncode == 0, run.stderr
    assert run.stdout.split() == ["ready", "True", "joined", "True"]
