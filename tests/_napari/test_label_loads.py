"""Loading labels from the dock (Labels → Load labels…, Guide → Load prediction as labels…)
reads the file off the GUI thread: the labels land after, one load at a time across the dock,
a bad file is said once and changes nothing, and a load outliving its segment changes nothing.
The worker returned starts only once its caller could connect to it."""

from __future__ import annotations

import numpy as np
import pytest
from qtpy.QtCore import QThreadPool
from qtpy.QtWidgets import QFileDialog

from inkloop.brush import encode_labels
from inkloop.io import write_png
from tests._napari._gui import messages


@pytest.fixture
def choose(monkeypatch):
    """A function: the file dialogs the dock opens now answer ``path``."""

    def answer(path) -> None:
        monkeypatch.setattr(QFileDialog, "getOpenFileName", lambda *args, **kwargs: (str(path), ""))

    return answer


def _ink(shape) -> np.ndarray:
    ink = np.zeros(shape, np.uint8)
    ink[10:20, 10:40] = 255
    return ink


def test_load_labels_lands_after_reading_off_the_gui_thread_and_undoes(
    segment_widget, tmp_path, qtbot, choose
):
    widget = segment_widget
    brush, guide, session = widget.brush_panel, widget.guide_panel, widget.labels
    before = session.painter.canvas.codes.copy()
    ink = _ink(before.shape)
    write_png(tmp_path / "mine_inklabels.png", ink)
    choose(tmp_path / "mine_inklabels.png")

    brush.load.click()
    # the click returns at once, the file still being read; the dock starts no other load
    np.testing.assert_array_equal(session.painter.canvas.codes, before)
    assert not brush.load.isEnabled()
    assert not guide.load_button.isEnabled()
    qtbot.waitUntil(lambda: not session.loading)
    assert brush.load.isEnabled()
    assert guide.load_button.isEnabled()
    mask = np.asarray(session.segment.mask, bool)
    np.testing.assert_array_equal(session.painter.canvas.codes, encode_labels(ink, mask))

    brush.undo.click()
    np.testing.assert_array_equal(session.painter.canvas.codes, before)
    brush.redo.click()
    np.testing.assert_array_equal(session.painter.canvas.codes, encode_labels(ink, mask))


def test_a_prediction_loading_holds_the_brush_panels_load_too(segment_widget, tmp_path, qtbot):
    widget = segment_widget
    session = widget.labels
    write_png(tmp_path / "gp.png", _ink(session.painter.canvas.shape))
    with qtbot.waitSignal(widget.guide_panel.load_prediction(str(tmp_path / "gp.png")).finished):
        assert not widget.brush_panel.load.isEnabled()
    assert widget.brush_panel.load.isEnabled()


def test_a_load_is_heard_to_its_end_however_fast_it_fails(segment_widget, tmp_path, qtbot):
    worker = segment_widget.guide_panel.load_prediction(str(tmp_path / "missing.png"))
    QThreadPool.globalInstance().waitForDone(10_000)  # a caller slower than the read
    shown = len(messages(0))
    with qtbot.waitSignal(worker.finished):  # connected after the call, yet heard
        pass
    (said,) = messages(shown)
    assert said.startswith("Ink Loop: Prediction not loaded: ")


def test_a_bad_label_file_is_said_once_from_the_worker_and_changes_nothing(
    segment_widget, tmp_path, qtbot, choose
):
    widget = segment_widget
    brush, session = widget.brush_panel, widget.labels
    before = session.painter.canvas.codes.copy()
    (tmp_path / "broken.png").write_bytes(b"not a png")
    for path in (tmp_path / "broken.png", tmp_path / "missing.png"):
        choose(path)
        shown = len(messages(0))
        brush.load.click()
        qtbot.waitUntil(lambda: not session.loading)
        (said,) = messages(shown)
        assert said.startswith("Ink Loop: Labels not loaded: ")
        assert path.name in said
        assert brush.load.isEnabled()
        np.testing.assert_array_equal(session.painter.canvas.codes, before)


def test_a_load_outliving_its_segment_changes_nothing(segment_widget, tmp_path, qtbot, choose):
    widget = segment_widget
    session, viewer = widget.labels, widget.viewer
    layer = session.layer
    before = layer.data.copy()
    write_png(tmp_path / "mine_inklabels.png", _ink(before.shape))
    choose(tmp_path / "mine_inklabels.png")

    widget.brush_panel.load.click()
    viewer.layers.remove(layer)  # the dock lets go of the segment while the file is read
    assert widget.labels is None
    qtbot.waitUntil(lambda: not session.loading)
    np.testing.assert_array_equal(layer.data, before)
