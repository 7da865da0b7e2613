"""A segment whose last write failed at a switch, painted again: the strokes only its layer
holds are written once a folder takes them (review C5, finding 2)."""

from __future__ import annotations

import errno

import numpy as np
import pytest

from inkloop.brush import decode_labels
from inkloop.synthetic import write_segment
from tests._napari._gui import messages
from tests._napari.test_autosave_disk_full import FULL, refusing_folders, rescue_folders
from tests._napari.test_segment_switch_writes import _on_disk, _paint


@pytest.fixture
def segments(tmp_path):
    return (
        write_segment(tmp_path / "segA", 64, 96, 6, seed=3, truth_as_labels=False),
        write_segment(tmp_path / "segB", 48, 80, 6, seed=4),
    )


def test_strokes_no_folder_took_at_a_switch_are_written_when_the_segment_closes_again(
    open_in_dock, segments, tmp_path, monkeypatch, qtbot
):
    first, second = segments
    full = refusing_folders(monkeypatch, tmp_path, lambda path: OSError(errno.ENOSPC, FULL))
    viewer, widget = open_in_dock(first)
    segment = widget.labels.segment
    painted = _paint(widget)
    full.update({first, *rescue_folders(first)})
    shown = len(messages(0))
    widget.open_segment(str(second), wait=True)
    lost = "The last strokes could not be written"
    qtbot.waitUntil(lambda: any(lost in m for m in messages(shown)), timeout=5000)

    full.clear()  # the user freed the disk
    widget.open_segment(str(first), wait=True)  # back on A: nothing painted
    viewer.close()

    np.testing.assert_array_equal(_on_disk(segment), decode_labels(painted)[0])
