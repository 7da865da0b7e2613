"""The whole label canvas is decoded off the GUI thread when an engine starts and when a round
is recorded (a full-size canvas takes a second), from the labels as they were when asked; a
click waits for the engine once (``starting``), and a fresh segment's first stroke starts it."""

from __future__ import annotations

import threading

import numpy as np
from qtpy.QtWidgets import QApplication

from inkloop.brush import decode_labels
from inkloop.engine import CheckpointSaved, State, StateChanged
from inkloop.rounds import labels_hash, read_rounds
from inkloop.settings import EngineSettings
from tests._napari._fakes import fake_engines, ink_stroke, patch_in_dock
from tests._napari._gui import messages


def _whole_canvas_decodes(monkeypatch, shape) -> list[str]:
    """The names of the threads that decode whole canvases of ``shape`` from now on."""
    threads = []

    def spy(codes):
        if codes.shape == shape:
            threads.append(threading.current_thread().name)
        return decode_labels(codes)

    patch_in_dock(monkeypatch, "decode_labels", spy)
    return threads


def test_a_round_is_counted_off_the_gui_thread_from_the_labels_at_stop(
    segment_widget, qtbot, monkeypatch
):
    loop, keeper = segment_widget.loop, segment_widget.guide_panel.rounds
    painter = segment_widget.labels.painter
    threads = _whole_canvas_decodes(monkeypatch, painter.canvas.shape)
    at_stop = painter.canvas.codes.copy()

    # the save that ends a run (Stop) records the round; a stroke follows at once
    loop.event_received.emit(loop.generation, CheckpointSaved("model.pt", 12, autosave=True))
    ink_stroke(painter, 20, 20)

    qtbot.waitUntil(lambda: len(keeper.rounds) == 1)
    assert threads
    assert threading.main_thread().name not in threads
    (round_,) = read_rounds(keeper.path)
    assert round_ == keeper.rounds[0]
    assert (round_.steps, round_.checkpoint) == (12, "model.pt")
    assert round_.labels_hash == labels_hash(*decode_labels(at_stop))
    assert round_.labels_hash != labels_hash(*decode_labels(painter.canvas.codes))


def test_closing_the_viewer_while_a_round_is_counted_keeps_the_round(segment_widget):
    keeper, viewer = segment_widget.guide_panel.rounds, segment_widget.viewer
    keeper.record("model.pt", 3)

    viewer.close()

    assert [r.steps for r in read_rounds(keeper.path)] == [3]


def test_an_engine_starts_from_labels_decoded_off_the_gui_thread_and_hears_later_strokes(
    segment_widget, qtbot, monkeypatch
):
    loop, painter = segment_widget.loop, segment_widget.labels.painter
    made = fake_engines(monkeypatch)
    threads = _whole_canvas_decodes(monkeypatch, painter.canvas.shape)
    heard = []
    loop.changed.connect(heard.append)
    at_click = painter.canvas.codes.copy()

    loop.finetune()
    box = ink_stroke(painter, 30, 30)  # while the engine starts
    loop.finetune()  # a second click while it starts: no second run

    qtbot.waitUntil(lambda: loop.engine is not None)
    assert threads
    assert threading.main_thread().name not in threads
    (engine,) = made
    ink, supervised = decode_labels(at_click)
    np.testing.assert_array_equal(engine.ink, ink)
    np.testing.assert_array_equal(engine.supervised, supervised)
    (sent_box, sent_ink, _), *_ = engine.updates
    assert sent_box == box
    y0, x0, y1, x1 = box
    np.testing.assert_array_equal(sent_ink, decode_labels(painter.canvas.codes)[0][y0:y1, x0:x1])
    assert engine.starts == 1
    assert loop.starting
    engine.report(StateChanged(State.TRAINING, State.IDLE))  # the run began
    qtbot.waitUntil(lambda: not loop.starting)
    waits = [event.text for event in heard if type(event).__name__ == "RunStarting"]
    assert waits == ["Starting the engine (importing torch: a few seconds)…", None]


def test_one_start_at_a_time_and_none_after_close(segment_widget, qtbot, monkeypatch):
    loop = segment_widget.loop
    made = fake_engines(monkeypatch)

    loop.warm_up()
    loop.warm_up()  # the same settings: the start under way goes on
    qtbot.waitUntil(lambda: loop.engine is not None)
    assert len(made) == 1

    other = EngineSettings(autosave_every=99.0)
    loop.trained.start_over()
    loop.warm_up()
    loop.warm_up(other)  # other settings before its labels decoded: only this one is made
    qtbot.waitUntil(lambda: loop.engine is not None)
    assert [engine.settings.autosave_every for engine in made[1:]] == [99.0]
    assert made[0].closed

    loop.trained.start_over()
    loop.warm_up()
    segment_widget.viewer.close()  # while the labels decode
    QApplication.processEvents()  # what the decode's end posted
    assert loop.closed
    assert loop.engine is None
    assert len(made) == 2
    assert not [t.name for t in threading.enumerate() if t.name.startswith("inkloop-")]


def test_labels_of_napari_s_own_tools_are_one_message_and_the_next_click_works(
    make_napari_viewer, segment_folder, qtbot, monkeypatch
):
    from napari.utils.notifications import notification_manager

    from inkloop._napari._widget import InkLoopWidget

    monkeypatch.setattr(InkLoopWidget, "warm_engine", False)
    viewer = make_napari_viewer()
    (*_, layer) = viewer.open(str(segment_folder), plugin="napari-inkloop")
    layer.data[0, 0] = 300  # napari's own label tools, before the dock: any integer
    _, widget = viewer.window.add_plugin_dock_widget("napari-inkloop", "Ink Loop")
    loop, painter = widget.loop, widget.labels.painter
    painter.undo()  # the dock's reset of that pixel to unlabelled, undone
    made = fake_engines(monkeypatch)
    shown = len(notification_manager.records)

    loop.finetune()

    qtbot.waitUntil(lambda: not loop.starting)
    assert loop.engine is None
    assert not made
    assert any("label value 300 is not an Ink Loop label" in m for m in messages(shown))
    painter.set_brush(mode="erase", radius=2)
    painter.stamp_along([(0, 0)])  # the brush paints over it
    loop.finetune()
    qtbot.waitUntil(lambda: loop.engine is not None)
    assert made[0].starts == 1


def test_the_first_stroke_on_a_fresh_segment_starts_the_engine_once(
    open_in_dock, unlabelled_folder, qtbot, monkeypatch
):
    _, widget = open_in_dock(unlabelled_folder)
    loop, painter = widget.loop, widget.labels.painter
    made = fake_engines(monkeypatch)
    loop.starts.warm_on_first_stroke()
    assert loop.starts.pending is None  # opened to look at: no engine

    ink_stroke(painter, 40, 40)
    qtbot.waitUntil(lambda: loop.engine is not None)
    ink_stroke(painter, 80, 80)
    loop.warm_up()  # as the dock does on a click: the engine started is the one used

    assert len(made) == 1
    assert loop.starts.pending is None


def test_a_job_done_before_submit_returns_is_heard_after_it(qtbot):
    from concurrent.futures import Future

    from inkloop._napari._label_worker import LabelWorker
    from inkloop.canvas import LabelCanvas

    class AtOnce:  # an executor whose jobs are done before submit returns
        def submit(self, function, *args) -> Future:
            future = Future()
            future.set_result(function(*args))
            return future

    kept, heard = [], []
    worker = LabelWorker(LabelCanvas.from_codes(np.zeros((4, 4), np.uint16)), blank=True)
    worker._executor = AtOnce()
    kept.append(worker.submit(done=lambda job: heard.append(job in kept)))

    qtbot.waitUntil(lambda: heard == [True])
