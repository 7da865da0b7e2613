"""Rounds appended by two processes at once (the dock and `inkloop train`): none lost, no
two numbered alike."""

from __future__ import annotations

import subprocess
import sys

import pytest

from inkloop._locks import LOCKS
from inkloop.rounds import read_rounds

# appends ``count`` rounds to ``path`` once told to go, each numbered as a caller does: from
# the file as it read it before (`inkloop train` reads, then hashes the labels, then appends)
APPENDER = """
import sys
import numpy as np
from inkloop.rounds import append_round, new_round, next_number, read_rounds
path, name, count = sys.argv[1], sys.argv[2], int(sys.argv[3])
ink, supervised = np.zeros((8, 8), np.uint8), np.ones((8, 8), bool)
print("ready", flush=True)
sys.stdin.readline()
for step in range(count):
    number = next_number(read_rounds(path))
    round_ = new_round(number, ink, supervised, accepted_pixels=0, steps=step,
                       validation_f05=None, checkpoint=name)
    append_round(path, round_)
"""


@pytest.mark.skipif(not LOCKS, reason="rounds files are locked with flock, which Windows lacks")
def test_two_processes_appending_at_once_lose_no_round_and_share_no_number(tmp_path):
    path, count = tmp_path / "seg_rounds.jsonl", 25
    appenders = [
        subprocess.Popen(
            [sys.executable, "-c", APPENDER, str(path), name, str(count)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        for name in ("dock", "cli")
    ]
    for appender in appenders:  # both started: they append at the same time
        assert appender.stdout.readline() == "ready\n"
    for appender in appenders:
        appender.stdin.write("go\n")
        appender.stdin.close()
    assert [appender.wait() for appender in appenders] == [0, 0]

    rounds = read_rounds(path)
    for name in ("dock", "cli"):
        assert [r.steps for r in rounds if r.checkpoint == name] == list(range(count))
    assert [r.number for r in rounds] == list(range(1, 2 * count + 1))
