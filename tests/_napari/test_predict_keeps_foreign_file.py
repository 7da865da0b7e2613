"""Predict whole segment never replaces a file inkloop did not record writing (the Grand Prize
model's ``<id>_prediction.png``, say) without asking, and keeps it as a .saved- copy when told
to; its own prediction there it replaces (and keeps) in one click."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image
from qtpy.QtCore import QEvent
from qtpy.QtWidgets import QApplication, QFileDialog, QMessageBox

from inkloop._napari._predict_panel import CHOOSE_ANOTHER, REPLACE
from inkloop.engine import Notice
from inkloop.io._sidefiles import kept_copy_path


@pytest.fixture
def dock(open_in_dock, segment_folder, monkeypatch):
    """The dock's PredictPanel on a segment, into ``<id>_prediction.png``; the engine's
    predict_segment recorded as (out, replace) instead of run: the engine's own refusal is
    tests/engine/test_foreign_prediction_kept.py's."""
    _, widget = open_in_dock(segment_folder)
    panel = widget.predict_panel
    panel.format.setCurrentText("PNG")
    sent = []

    def predict_segment(out, tta=False, replace=False):
        sent.append((out, replace))
        return 7

    monkeypatch.setattr(widget.loop, "predict_segment", predict_segment)
    return panel, sent


def _answer(monkeypatch, button: str | None) -> list[str]:
    """Answer the dock's question with the button of that text (None: Cancel); the questions
    asked, as their texts."""
    asked = []

    def click(box) -> int:
        asked.append(box.text())
        if button is None:
            box.button(QMessageBox.StandardButton.Cancel).click()
        else:
            next(b for b in box.buttons() if b.text() == button).click()
        return 0

    monkeypatch.setattr(QMessageBox, "exec", click)
    return asked


def _foreign_prediction(path):
    """Another tool's prediction PNG (no inkloop metadata); its bytes."""
    pixels = np.random.default_rng(0).integers(0, 256, (16, 16), dtype=np.uint8)
    Image.fromarray(pixels).save(path)
    return path.read_bytes()


def _answered(panel) -> None:
    """The engine's answer to the request the dock sent (here: cancelled), as the loop
    relays it: the panel is idle again."""
    panel.loop.changed.emit(Notice("cancelled", panel.request))
    assert panel.request is None


def test_the_dock_replaces_a_file_inkloop_did_not_write_only_once_the_user_says_so(
    dock, monkeypatch, tmp_path
):
    """One viewer for all the answers: opening one takes seconds."""
    import dask.array as da

    from inkloop.predict import write_prediction

    panel, sent = dock
    out = panel.output_path()
    write_prediction(da.zeros((16, 16), np.float32), out, progress=False)
    asked = _answer(monkeypatch, None)
    panel.predict_button.click()  # its own prediction: replaced in one click, as ever
    assert (asked, sent) == ([], [(out, False)])
    _answered(panel)

    before = _foreign_prediction(out)
    panel.predict_button.click()  # Cancel
    assert len(asked) == 1
    assert f"{out.name} exists in {out.parent}, and inkloop did not record writing it" in asked[0]
    kept = kept_copy_path(out)
    assert f"Replace keeps it beside the new one as {kept.name}." in asked[0]
    assert sent == [(out, False)]  # nothing more sent
    assert panel.request is None
    assert panel.predict_button.isEnabled()

    _answer(monkeypatch, CHOOSE_ANOTHER)
    chosen = tmp_path / "mine.png"
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *a, **k: (str(chosen), ""))
    panel.predict_button.click()
    assert sent[1:] == [(chosen, False)]
    _answered(panel)

    panel.set_loop(panel.loop)  # back to the default file
    _answer(monkeypatch, REPLACE)
    panel.predict_button.click()
    assert sent[2:] == [(out, True)]  # the engine hears that the user confirmed
    assert panel.request == 7
    assert kept.read_bytes() == before  # kept, as inkloop's own are: never lost
    assert not out.exists()
    _answered(panel)  # no new one came: it is back under its name
    assert out.read_bytes() == before
    assert not kept.exists()
    QApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)  # as napari's loop would
    assert panel.findChildren(QMessageBox) == []  # no hidden box left behind by a question
