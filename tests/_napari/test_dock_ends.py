"""What ends the dock's loop, and what it says then: napari's main window closing (also where
Python lives on), the dock closed, its labels layer removed, another segment opened, the
labels' data replaced by napari (Convert data type); a run or a whole-segment prediction
stopped is said with its cause, and a labels layer let go of says how to paint it again."""

from __future__ import annotations

import numpy as np
from napari.layers._layer_actions import _convert_dtype
from qtpy.QtCore import Qt
from qtpy.QtWidgets import QApplication

from inkloop._locks import claim
from inkloop._napari._label_claims import labels_lock_path
from inkloop.brush import decode_labels
from inkloop.engine import State, StateChanged
from inkloop.io import label_paths, read_label_image
from inkloop.rounds import read_rounds
from inkloop.synthetic import write_segment
from tests._napari._fakes import FakeEngine, fake_engines, ink_stroke
from tests._napari._gui import messages


def _training(widget, qtbot, made) -> FakeEngine:
    """Start the loop's (fake) engine and have it say a run began; that engine."""
    widget.loop.warm_up()
    qtbot.waitUntil(lambda: widget.loop.engine is not None)
    engine = made[-1]
    engine.report(StateChanged(State.TRAINING, State.IDLE))
    qtbot.waitUntil(lambda: widget.loop.state is State.TRAINING)
    return engine


def _autosaved_ink(segment) -> np.ndarray:
    return read_label_image(label_paths(segment, autosave=True)[0], segment.shape[1:], ink=True)


def test_closing_napari_s_window_ends_the_loop_records_the_round_and_lets_go_of_the_labels(
    open_in_dock, unlabelled_folder, qtbot, monkeypatch
):
    made = fake_engines(monkeypatch)
    viewer, widget = open_in_dock(unlabelled_folder)
    viewer.show()
    qtbot.waitUntil(widget.isVisible)
    QApplication.processEvents()  # the dock is in the window now: watched
    segment, keeper, window = widget.labels.segment, widget.guide_panel.rounds, viewer.window
    engine = _training(widget, qtbot, made)
    box = ink_stroke(widget.labels.painter, 40, 40)
    shown = len(messages(0))
    window._qt_window.closeEvent = lambda event: event.ignore()  # Cancel in napari's dialog
    window._qt_window.close()
    assert widget.loop is not None  # a close refused ends nothing
    del window._qt_window.closeEvent  # napari's own again, which accepts
    window._qt_window.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose, False)  # for teardown

    window._qt_window.close()  # its X, Ctrl+W, Ctrl+Q: and Python goes on (Jupyter)

    assert widget.loop is None
    assert widget.labels is None
    assert engine.closed  # no more training, nor saves over the model
    assert messages(shown) == [
        f"Ink Loop: training on {segment.name} stopped, its weights saved: "
        "its napari window was closed"
    ]
    assert [r.steps for r in read_rounds(keeper.path)] == [0]  # its round
    lock = claim(labels_lock_path(segment))  # another napari may save them now
    assert lock is not None
    lock.close()
    y0, x0, y1, x1 = box
    assert _autosaved_ink(segment)[y0:y1, x0:x1].max() == 255  # the last stroke written


def test_closing_a_window_never_shown_ends_the_loop(
    open_in_dock, unlabelled_folder, qtbot, monkeypatch
):
    """napari.Viewer(show=False) in a script or notebook: its close hides nothing."""
    made = fake_engines(monkeypatch)
    viewer, widget = open_in_dock(unlabelled_folder)
    QApplication.processEvents()  # the dock is in the window now: watched
    engine = _training(widget, qtbot, made)
    window = viewer.window._qt_window
    window.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose, False)  # for teardown

    window.close()

    assert widget.loop is None
    assert engine.closed


def test_what_stops_is_said_with_its_cause(open_in_dock, tmp_path, qtbot, monkeypatch):
    made = fake_engines(monkeypatch)
    monkeypatch.setattr(
        FakeEngine, "predict_segment", lambda self, out, tta, replace: 7, raising=False
    )
    first = write_segment(tmp_path / "segA", 64, 96, 6, seed=3)
    second = write_segment(tmp_path / "segB", 48, 80, 6, seed=4)
    viewer, widget = open_in_dock(first)
    labels_a = widget.labels.layer
    _training(widget, qtbot, made)
    widget.predict_panel.predict()
    out = widget.predict_panel.output_path()
    shown = len(messages(0))

    widget.open_segment(str(second), wait=True)  # another segment
    assert labels_a.help == (
        'Ink Loop paints "ink labels [1]" now: open this segment again (Open segment… in the '
        "dock) to paint these"
    )  # not "Ink Loop closed: reopen it": the dock is open
    _training(widget, qtbot, made)
    viewer.layers.remove(widget.labels.layer)  # segA's labels are painted again
    _training(widget, qtbot, made)
    viewer.window.remove_dock_widget(widget)

    assert messages(shown) == [
        "Ink Loop: training on segA stopped, its weights saved; the whole-segment prediction "
        f"of segA into {out} was stopped, no file written (Predict whole segment starts it "
        'again): Ink Loop paints "ink labels [1]" now, another segment\'s labels',
        'Ink Loop: training on segB stopped, its weights saved: its labels layer "ink labels '
        '[1]" was removed',
        "Ink Loop: training on segA stopped, its weights saved: the Ink Loop dock was closed",
    ]


def test_a_copy_of_the_labels_opened_on_top_leaves_the_older_saying_how_to_paint_it(
    painting, unlabelled_folder
):
    viewer, widget = painting
    first = widget.labels.layer
    viewer.open(str(unlabelled_folder), plugin="napari-inkloop")  # File > Open: a second copy
    viewer.layers.selection.active = first

    assert first.help == 'Ink Loop paints "ink labels [1]" now: delete that layer to paint these'
    assert viewer.help == first.help  # the status bar too
    viewer.layers.remove(widget.labels.layer)
    assert widget.labels.layer is first
    assert first.help.startswith("Ink Loop brush")


def test_labels_whose_data_napari_replaced_are_painted_anew_or_let_go_of_and_kept(
    painting, unlabelled_folder, qtbot
):
    viewer, widget = painting
    layer, segment = widget.labels.layer, widget.labels.segment
    viewer.layers.selection.active = layer
    _convert_dtype(viewer.layers, "uint16")  # napari's Convert data type, to its type: a copy
    qtbot.waitUntil(lambda: widget.labels is not None)
    assert widget.labels.layer is layer
    assert widget.labels.painter.canvas.codes is layer.data  # what the brush paints shows
    assert not layer.editable  # napari's integer tools stay off
    widget.labels.autosaver.interval_s = 3600  # only letting go can write them
    box = ink_stroke(widget.labels.painter, 40, 40)
    painted = layer.data.copy()
    shown = len(messages(0))

    _convert_dtype(viewer.layers, "uint32")
    QApplication.processEvents()  # the layers followed again

    assert widget.labels is None  # nothing paints labels that do not show
    (said,) = messages(shown)
    assert said.startswith('Ink Loop: the data of "ink labels" was replaced (uint32)')
    assert layer.help.startswith("Ink Loop stopped painting these")
    y0, x0, y1, x1 = box
    np.testing.assert_array_equal(_autosaved_ink(segment), decode_labels(painted)[0])
    assert painted[y0:y1, x0:x1].max() > 0
    widget.open_segment(str(unlabelled_folder), wait=True)  # as the message says
    np.testing.assert_array_equal(widget.labels.layer.data, painted)


def test_viewer_close_says_the_window_closed_and_takes_up_no_other_segment(
    open_in_dock, tmp_path, qtbot, monkeypatch
):
    made = fake_engines(monkeypatch)
    viewer, widget = open_in_dock(write_segment(tmp_path / "segA", 64, 96, 6, seed=3))
    widget.open_segment(str(write_segment(tmp_path / "segB", 48, 80, 6, seed=4)), wait=True)
    _training(widget, qtbot, made)
    begun = []
    monkeypatch.setattr(widget, "_begin_labels", begun.append)
    shown = len(messages(0))

    viewer.close()  # Ctrl+Q too: napari removes the layers, segB's first, then the window

    assert begun == []  # segA's older labels were not taken up on the way out
    assert messages(shown) == [
        "Ink Loop: training on segB stopped, its weights saved: its napari window was closed"
    ]
