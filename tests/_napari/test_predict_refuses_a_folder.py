"""A folder chosen as Predict whole segment's output that is no prediction (a CT volume's
zarr, another tool's 3-D OME-Zarr) is refused as the engine refuses it, before anything is
moved: it is never renamed to a .saved- copy and no question is asked (review C17 finding 2)."""

from __future__ import annotations

import numpy as np
import zarr
from qtpy.QtWidgets import QFileDialog, QMessageBox

from tests._napari._gui import messages


def test_a_folder_that_is_no_prediction_is_refused_untouched(
    open_in_dock, segment_folder, monkeypatch, tmp_path
):
    from napari.utils.notifications import notification_manager

    _, widget = open_in_dock(segment_folder)
    panel = widget.predict_panel
    sent, asked = [], []
    monkeypatch.setattr(widget.loop, "predict_segment", lambda *a, **k: sent.append(a) or 7)
    monkeypatch.setattr(QMessageBox, "exec", lambda box: asked.append(box.text()) or 0)
    volume = tmp_path / "volume.zarr"  # a CT scan's volume, 3-D
    zarr.create_array(str(volume), shape=(4, 8, 8), dtype=np.uint16)[:] = 7
    before = sorted(p.name for p in tmp_path.iterdir())
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *a, **k: (str(volume), ""))
    assert panel.choose()

    since = len(notification_manager.records)
    panel.predict_button.click()
    assert (sent, asked, panel.request) == ([], [], None)
    assert sorted(p.name for p in tmp_path.iterdir()) == before  # not moved aside
    assert (zarr.open_array(str(volume), mode="r")[:] == 7).all()
    said = messages(since)
    assert any("is a folder but not a prediction from inkloop predict" in m for m in said), said
    assert panel.predict_button.isEnabled()
