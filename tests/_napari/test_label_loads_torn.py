"""Labels → Load labels… of a torn pair (new ink beside the mask its save was replacing)
refuses it with the way out a dock user takes, not the command line's or Python's."""

from __future__ import annotations

import numpy as np
import pytest
from qtpy.QtWidgets import QFileDialog

from inkloop.io import label_paths
from inkloop.io._labels import write_label_files
from inkloop.io._sidefiles import supervision_path_for
from tests._napari._gui import messages

WAYS_OUT = {
    "own": "open the segment again (Open segment…), which restores its ink strokes, and click "
    "Save labels",
    "other": "if they are still being written, load them again once they are; if their save "
    "was cut short, save them again where they were painted",
}


def _torn(ink_path, shape) -> None:
    """A pair at ``ink_path`` as a save killed between its two renames leaves it."""
    ink, supervised = np.zeros(shape, np.uint8), np.zeros(shape, bool)
    supervised[:8] = True
    write_label_files(ink_path, ink, supervised)
    mask = supervision_path_for(ink_path)
    earlier = mask.read_bytes()
    ink[20:30] = 255
    write_label_files(ink_path, ink, supervised | (ink > 0))
    mask.write_bytes(earlier)  # the new mask never renamed into place


@pytest.mark.parametrize("whose", WAYS_OUT)
def test_a_torn_pair_loaded_in_the_dock_says_the_docks_way_out(
    segment_widget, tmp_path, qtbot, monkeypatch, whose
):
    session, brush = segment_widget.labels, segment_widget.brush_panel
    before = session.painter.canvas.codes.copy()
    own = label_paths(session.segment)[0]
    ink_path = own if whose == "own" else tmp_path / "copy_inklabels.png"
    _torn(ink_path, before.shape)
    monkeypatch.setattr(QFileDialog, "getOpenFileName", lambda *a, **k: (str(ink_path), ""))
    shown = len(messages(0))

    brush.load.click()
    qtbot.waitUntil(lambda: not session.loading)

    (said,) = messages(shown)
    assert "two different saves" in said
    assert said.endswith(WAYS_OUT[whose])
    np.testing.assert_array_equal(session.painter.canvas.codes, before)
