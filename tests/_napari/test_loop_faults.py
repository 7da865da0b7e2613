"""The loop when things go wrong: an engine that dies is not restarted by panning, one that
cannot start leaves the loop ready to try again, and new settings do not end a whole-segment
prediction under way."""

from __future__ import annotations

import dataclasses

import pytest
from napari.utils.notifications import notification_manager

from inkloop._napari import _engine_start
from inkloop.engine import SegmentPredicted, State
from tests._helpers import kill_abruptly
from tests._napari._gui import messages, paint_left_half


@pytest.mark.slow
def test_a_dead_engine_is_not_restarted_by_panning(loop_widget, qtbot, truth):
    viewer, widget = loop_widget
    loop = widget.loop
    paint_left_half(widget, viewer, qtbot, truth)
    loop.finetune()
    qtbot.waitUntil(lambda: loop.losses.count >= 2 and loop.prediction_updates > 0, timeout=60_000)
    dead, generation = loop.engine, loop.generation
    kill_abruptly(dead.pid)  # the OOM killer, say
    qtbot.waitUntil(lambda: loop.state is State.FAILED, timeout=30_000)

    loop.camera.zoom *= 4  # the user pans and zooms while reading the message
    loop.view.region = None  # new ground in view (a hidden viewer's corner pixels never move)
    loop.preview_view()  # what the camera's pause calls
    assert loop.engine is dead
    assert not dead.alive
    assert loop.generation == generation  # no engine started behind the user's back


def test_an_engine_that_cannot_start_says_why_and_the_next_click_tries_again(
    segment_widget, monkeypatch, qtbot
):
    loop = segment_widget.loop
    started = []

    class NoRoom:
        def __init__(self, *args, **kwargs) -> None:
            started.append(args)
            raise OSError(28, "No space left on device")

    monkeypatch.setattr(_engine_start, "EngineProcess", NoRoom)
    shown = len(notification_manager.records)
    loop.finetune()
    qtbot.waitUntil(lambda: bool(started) and not loop.starting)  # made once its labels decoded
    assert loop.engine is None
    assert loop.state is State.IDLE
    assert any("No space left on device" in message for message in messages(shown))
    loop.finetune()
    qtbot.waitUntil(lambda: len(started) == 2)  # tried again, not "the engine process is closed"


@pytest.mark.slow
def test_new_settings_while_the_segment_is_predicted_keep_the_prediction(
    loop_widget, qtbot, tmp_path
):
    _, widget = loop_widget
    loop = widget.loop
    loop.warm_up(loop.settings)
    generation, out = loop.generation, tmp_path / "whole.png"
    request = loop.predict_segment(out)
    shown = len(notification_manager.records)
    changed = dataclasses.replace(loop.settings, autosave_every=60.0)
    loop.finetune(changed)  # before the prediction's end can arrive: it is under way
    assert loop.generation == generation
    assert loop.state is State.IDLE
    assert any("whole segment is being predicted" in message for message in messages(shown))

    with qtbot.waitSignal(
        loop.changed,
        check_params_cb=lambda e: isinstance(e, SegmentPredicted) and e.request == request,
        timeout=60_000,
    ):
        pass
    assert out.is_file()
    loop.finetune(changed)  # now the engine is replaced
    assert loop.generation == generation + 1
    loop.stop()


def test_clearing_the_viewer_starts_no_engine_for_the_segments_below(
    open_in_dock, segment_folder, tmp_path, qtbot, monkeypatch
):
    from qtpy.QtWidgets import QApplication

    from inkloop.synthetic import write_segment

    viewer, widget = open_in_dock(segment_folder, warm_engine=True)
    viewer.open(
        str(write_segment(tmp_path / "20240303000000", 48, 64, 6, seed=5)), plugin="napari-inkloop"
    )
    qtbot.waitUntil(lambda: widget.loop is not None and widget.loop.engine is not None)
    started = []
    real = _engine_start.EngineProcess
    monkeypatch.setattr(
        _engine_start, "EngineProcess", lambda *a, **k: started.append(real(*a, **k))
    )
    viewer.layers.clear()  # one layer after another, as closing the viewer does
    QApplication.processEvents()  # what was deferred runs now
    assert widget.loop is None
    assert not started  # not one for the first segment, whose labels were newest for a moment


@pytest.mark.slow
def test_a_run_ended_by_opening_another_segment_is_recorded_as_a_round(
    loop_widget, qtbot, truth, tmp_path
):
    from inkloop.checkpoint import describe_checkpoint
    from inkloop.rounds import read_rounds
    from inkloop.synthetic import write_segment

    viewer, widget = loop_widget
    loop, rounds_file = widget.loop, widget.guide_panel.rounds.path
    paint_left_half(widget, viewer, qtbot, truth)
    loop.finetune()
    qtbot.waitUntil(lambda: loop.losses.count >= 2, timeout=60_000)

    engine = loop.engine
    widget.open_segment(
        str(write_segment(tmp_path / "20240404000000", 48, 64, 6, seed=6)), wait=True
    )

    (round_,) = read_rounds(rounds_file)
    assert round_.steps >= 2
    assert round_.checkpoint == str(tmp_path / "model.pt")
    assert round_.ink_pixels > 0
    assert engine.join(60)  # it saved the weights as it ended, a step or two later maybe
    assert describe_checkpoint(tmp_path / "model.pt")["round"] == round_.to_dict()


def test_the_last_autosave_of_a_replaced_engine_is_not_carried_over(
    segment_widget, monkeypatch, tmp_path, qtbot
):
    from inkloop.engine import CheckpointSaved

    loop = segment_widget.loop
    reports = []

    class Quiet:  # an engine that keeps only its way to report
        alive = True

        def __init__(self, path, ink, supervised, settings, report, **kwargs) -> None:
            reports.append(report)

        def close(self) -> None:
            pass

    monkeypatch.setattr(_engine_start, "EngineProcess", Quiet)
    loop.warm_up()
    qtbot.waitUntil(lambda: len(reports) == 1)  # made once its labels decoded
    loop.trained.start_over()  # the model chosen again: the next engine leaves these behind
    loop.warm_up()
    qtbot.waitUntil(lambda: len(reports) == 2)
    old, new = reports

    old(CheckpointSaved(str(tmp_path / "old.pt"), 9, autosave=True))  # saved as it ended, late
    assert loop.trained.saved is None
    new(CheckpointSaved(str(tmp_path / "new.pt"), 2, autosave=True))
    assert loop.trained.saved == tmp_path / "new.pt"
