"""The engine child's own plumbing, in this process: warnings forwarded to the dock."""

from __future__ import annotations

import multiprocessing
import os
import sys
import types
import warnings

from inkloop._notify import InkloopWarning, notify
from inkloop.engine import Notice
from inkloop.engine._child import Outbox, forward_warnings
from inkloop.engine._child_os import lower_priority


def test_inkloops_own_warnings_reach_the_dock_and_are_still_shown():
    events, sent = multiprocessing.Pipe(duplex=False)
    # record=True: what is shown is kept in a list; the process's showwarning comes back after
    with warnings.catch_warnings(record=True) as shown:
        warnings.simplefilter("always")
        forward_warnings(Outbox(sent))
        notify("out of GPU memory: predicting 2 forward passes at a time")
        warnings.warn("a library's deprecation", UserWarning, stacklevel=1)
    assert events.poll(5)  # sent before notify returned
    assert events.recv() == Notice("out of GPU memory: predicting 2 forward passes at a time")
    assert not events.poll()  # the library's warning is not the user's business
    assert [warning.category for warning in shown] == [InkloopWarning, UserWarning]


def test_on_windows_the_engine_runs_below_normal_priority(monkeypatch):
    asked = []
    process = types.SimpleNamespace(nice=asked.append)
    windows_psutil = types.SimpleNamespace(
        BELOW_NORMAL_PRIORITY_CLASS=0x4000, Process=lambda: process
    )
    monkeypatch.delattr(os, "nice", raising=False)  # as on Windows (where it is not there)
    monkeypatch.setitem(sys.modules, "psutil", windows_psutil)
    lower_priority()
    assert asked == [0x4000]
