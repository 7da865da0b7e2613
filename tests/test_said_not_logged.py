"""What a user should hear is said (`inkloop._notify.notify`), not logged: on the CLI it
carries the command's name, and the engine process forwards it to the dock. A log warning
did neither (r7 finding 1)."""

from __future__ import annotations

import errno
import multiprocessing
import re
import types
import warnings

import numpy as np
import pytest
from PIL import Image

from inkloop._locks import claim, locked
from inkloop._notify import InkloopWarning
from inkloop.cli import main
from inkloop.engine import Notice
from inkloop.engine._child import Outbox, forward_warnings
from inkloop.io import write_png
from inkloop.rounds import read_rounds


def test_evaluate_names_itself_saying_it_read_labels_of_0_and_1(tmp_path, capsys):
    ink = np.zeros((12, 16), np.uint8)
    ink[3:8, 4:10] = 1
    Image.fromarray(ink).save(tmp_path / "ink01.png")
    prediction = write_png(tmp_path / "p.png", ink * np.uint8(200))

    assert main(["evaluate", str(prediction), "--labels", str(tmp_path / "ink01.png")]) == 0
    assert capsys.readouterr().err == (
        f"inkloop evaluate: {tmp_path / 'ink01.png'}: ink labels of 0 and 1: read 1 as ink (255)\n"
    )


def test_a_rounds_line_skipped_reaches_the_dock(tmp_path):
    path = tmp_path / "seg_rounds.jsonl"
    path.write_text("[1]\n")
    events, sent = multiprocessing.Pipe(duplex=False)
    with warnings.catch_warnings(record=True):
        forward_warnings(Outbox(sent))  # as the engine process does
        assert read_rounds(path) == []
    assert events.poll(5)  # sent before read_rounds returned
    skipped = f"{path} line 1 is not a round (JSON list, not an object): skipped"
    assert events.recv() == Notice(skipped)


def test_a_file_system_that_takes_no_locks_is_said_and_the_work_goes_on(tmp_path, monkeypatch):
    def refuse(file, how):
        raise OSError(errno.ENOLCK, "No locks available")

    no_locks = types.SimpleNamespace(LOCK_EX=2, LOCK_NB=4, flock=refuse)  # as some NFS mounts
    monkeypatch.setattr("inkloop._locks.fcntl", no_locks)
    monkeypatch.setattr("inkloop._locks.LOCKS", True)
    path = tmp_path / ".seg.lock"
    refused = f"{re.escape(str(path))} cannot be locked .*No locks available.*: going on unlocked"

    with pytest.warns(InkloopWarning, match=refused), locked(path):
        path.with_name("guarded").write_text("written")  # the block runs, unlocked
    assert path.with_name("guarded").read_text() == "written"
    with pytest.warns(InkloopWarning, match=refused):
        held = claim(path)
    assert held is not None
    held.close()
