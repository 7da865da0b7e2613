"""A window closed (or napari quit) right after a segment switch writes its last strokes
beside the write of the segment switched away from, not after it (review C2 of session 41,
finding 3)."""

from __future__ import annotations

import threading

import numpy as np
from qtpy.QtWidgets import QMessageBox

from inkloop._napari import _autosave
from inkloop.brush import decode_labels
from inkloop.synthetic import write_segment
from tests._napari.test_close_veto import shown_window
from tests._napari.test_segment_switch_writes import _on_disk, _paint


def _switched_away_write_waits_for(monkeypatch, switched_away: str, now: str) -> list[bool]:
    """Label writes of the folder ``switched_away`` wait (5 s at most) for one of ``now`` to
    begin; whether it began, for each."""
    began, heard, write = threading.Event(), [], _autosave.write_label_files

    def write_label_files(path, *args, **kwargs):
        if path.parent.name == now:
            began.set()
        elif path.parent.name == switched_away:
            heard.append(began.wait(5))
        return write(path, *args, **kwargs)

    monkeypatch.setattr(_autosave, "write_label_files", write_label_files)
    return heard


def test_a_close_right_after_a_switch_writes_both_segments_side_by_side(
    open_in_dock, tmp_path, qtbot, monkeypatch
):
    monkeypatch.setattr(QMessageBox, "warning", lambda *a: None)
    viewer, widget = open_in_dock(write_segment(tmp_path / "a", 64, 96, 6, seed=3))
    window = shown_window(viewer, widget, qtbot)
    first, painted_first = widget.labels.segment, _paint(widget)
    heard = _switched_away_write_waits_for(monkeypatch, "a", "a2")
    other = write_segment(tmp_path / "a2", 64, 96, 6, seed=5, truth_as_labels=False)
    widget.open_segment(str(other), wait=True)  # a's last write under way, at its gate
    second, painted_second = widget.labels.segment, _paint(widget)

    window.close()

    assert heard == [True]  # a2's write began while a's was under way
    np.testing.assert_array_equal(_on_disk(first), decode_labels(painted_first)[0])
    np.testing.assert_array_equal(_on_disk(second), decode_labels(painted_second)[0])
