"""What runs while a closed labels layer waits for its last write with Qt's events turning:
another viewer's autosave tick stays refused until that write is done (else it took the
labels and the write landed over its own: closing review C1, finding 1), and a segment whose
open ends meanwhile is painted once the wait is over (finding 2)."""

from __future__ import annotations

import threading

import numpy as np
import pytest
from qtpy.QtCore import QTimer

from inkloop._napari import _autosave
from inkloop._napari._label_claims import SavesNothing
from inkloop._napari._labels import is_ink_labels
from inkloop._napari._reader import segment_path
from inkloop.brush import decode_labels
from inkloop.synthetic import write_segment
from tests._napari.test_labels_claimed_again import needs_locks
from tests._napari.test_segment_switch_writes import _on_disk, _paint


@pytest.fixture
def first_write_gate(monkeypatch):
    """A gate the first label write waits at (5 s at most) while the test holds it closed."""
    gate, write, writes = threading.Event(), _autosave.write_label_files, []

    def write_label_files(*args, **kwargs):
        writes.append(args)
        if len(writes) == 1:
            gate.wait(5)
        return write(*args, **kwargs)

    monkeypatch.setattr(_autosave, "write_label_files", write_label_files)
    return gate


@needs_locks
def test_another_viewers_tick_during_the_wait_leaves_the_labels_to_the_closing_write(
    open_in_dock, tmp_path, first_write_gate
):
    folder = write_segment(tmp_path / "segA", 64, 96, 6, seed=3, truth_as_labels=False)
    first_viewer, first = open_in_dock(folder)
    _, second = open_in_dock(folder)  # refused: another viewer of this process paints them
    second.labels.painter.stamp_along([(50, 10), (50, 40)])
    segment, painted = first.labels.segment, _paint(first)
    ticks = []

    def second_ticks() -> None:  # its autosave tick, while the first viewer's write waits
        second.labels.autosaver.save_if_changed()
        ticks.append(second.labels.elsewhere)
        first_write_gate.set()

    QTimer.singleShot(0, second_ticks)
    first_viewer.layers.remove(first.labels.layer)

    assert ticks[0] is not None  # still refused: not "this window autosaves them from now on"
    assert isinstance(second.labels.autosaver, SavesNothing)
    np.testing.assert_array_equal(_on_disk(segment), decode_labels(painted)[0])
    second.labels.autosaver.save_if_changed()  # its next tick: written since, never taken
    assert "written by another window after this one" in second.labels.autosaver.why
    np.testing.assert_array_equal(_on_disk(segment), decode_labels(painted)[0])


def test_a_segment_whose_open_ends_during_the_wait_is_painted(
    open_in_dock, tmp_path, first_write_gate, qtbot
):
    first = write_segment(tmp_path / "segA", 64, 96, 6, seed=3, truth_as_labels=False)
    second = write_segment(tmp_path / "segB", 48, 80, 6, seed=4)
    viewer, widget = open_in_dock(first)
    segment, painted = widget.labels.segment, _paint(widget)
    inserted = []

    def second_inserted() -> None:  # B's read ended off the GUI thread: its layers are in
        if any(
            is_ink_labels(layer) and str(segment_path(layer)) == str(second)
            for layer in viewer.layers
        ):
            inserted.append(True)
            watch.stop()
            first_write_gate.set()

    watch = QTimer(interval=0, timeout=second_inserted)
    widget.open_segment(str(second))  # Open segment… for B, then A's labels layer deleted
    watch.start()
    viewer.layers.remove(widget.labels.layer)
    watch.stop()
    qtbot.waitUntil(lambda: widget.opens.current is None, timeout=5000)

    assert inserted == [True]  # during the wait
    assert widget.labels is not None
    assert widget.labels.segment.name == "segB"
    np.testing.assert_array_equal(_on_disk(segment), decode_labels(painted)[0])
