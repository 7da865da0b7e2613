"""Deleting the painted labels layer waits for the last strokes' write with Qt's events
turning (seconds at full size: napari paints, its timers fire) and says what it waits for;
nothing is lost (review RE, finding 1's close)."""

from __future__ import annotations

import threading

import numpy as np
import pytest
from qtpy.QtCore import QTimer

from inkloop._napari import _autosave
from inkloop.brush import decode_labels
from inkloop.synthetic import write_segment
from tests._napari._gui import messages
from tests._napari.test_segment_switch_writes import _on_disk, _paint


@pytest.fixture
def gate(monkeypatch):
    """An open gate each label write waits at while the test holds it closed; one that
    waits 5 s in vain goes on (the old code, whose GUI thread never turned to open it)."""
    gate, write = threading.Event(), _autosave.write_label_files
    gate.set()

    def write_label_files(*args, **kwargs):
        gate.wait(5)
        return write(*args, **kwargs)

    monkeypatch.setattr(_autosave, "write_label_files", write_label_files)
    return gate


def test_a_removed_labels_layer_waits_for_its_last_write_with_events_turning(
    open_in_dock, tmp_path, gate
):
    folder = write_segment(tmp_path / "segA", 64, 96, 6, seed=3, truth_as_labels=False)
    viewer, widget = open_in_dock(folder)
    segment = widget.labels.segment
    painted = _paint(widget)
    closed, heard = [], []
    notice = "Ink Loop: writing the last strokes of segA…"

    def turned() -> None:  # a timer's turn during the close: the write ends once it is said
        if notice in messages(shown):
            heard.append(bool(closed))
            watch.stop()
            gate.set()

    gate.clear()
    shown = len(messages(0))
    watch = QTimer(interval=0, timeout=turned)
    watch.start()
    viewer.layers.remove(widget.labels.layer)
    closed.append(True)
    watch.stop()

    assert heard == [False]  # said, and the GUI turned while the close waited
    np.testing.assert_array_equal(_on_disk(segment), decode_labels(painted)[0])
