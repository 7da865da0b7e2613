"""The whole loop in a real viewer: paint, Finetune & preview, streamed overlay, stop, close."""

from __future__ import annotations

import dataclasses
import multiprocessing
import threading

import numpy as np
import pytest
from napari.utils.notifications import notification_manager

from inkloop.engine import State, StateChanged, StepDone
from inkloop.metrics import best_scores
from tests._helpers import FULL_RESOLUTION, kill_abruptly, tiny_model
from tests._napari._gui import drag, paint_left_half


def _unlabelled_f05(probability, widget, truth, region) -> float:
    ink, papyrus = truth
    y0, x0, y1, x1 = region
    unlabelled = ~widget.labels.painter.canvas.supervised[y0:y1, x0:x1] & papyrus[y0:y1, x0:x1]
    return best_scores(probability, ink[y0:y1, x0:x1], unlabelled).f05


def _untrained_probability(folder, region) -> np.ndarray:
    import torch

    from inkloop.compose import sample_normalisation
    from inkloop.io import open_segment
    from inkloop.model import build_model
    from inkloop.predict import Predictor

    segment = open_segment(folder)
    composition = FULL_RESOLUTION.resolve(segment.shape[0])
    torch.manual_seed(0)
    config = dataclasses.replace(tiny_model(), in_channels=composition.in_channels)
    model = build_model(config).eval()
    normalisation = sample_normalisation(segment, composition)
    predictor = Predictor(model, composition, normalisation, tile=64, overlap=16)
    return predictor.predict_region(segment, region, np.asarray(segment.mask))


@pytest.mark.slow
def test_finetune_and_preview_streams_ink_while_painting_goes_on(loop_widget, qtbot, truth):
    viewer, widget = loop_widget
    loop, panel = widget.loop, widget.loop_panel
    paint_left_half(widget, viewer, qtbot, truth)

    losses = []  # every step's loss, as the engine reported it
    loop.changed.connect(lambda event: isinstance(event, StepDone) and losses.append(event.loss))
    panel.finetune_button.click()
    qtbot.waitUntil(lambda: loop.prediction_updates >= 2, timeout=60_000)
    assert loop.state is State.TRAINING
    assert "samples/s" in panel.status.text()
    in_use = widget.model_panel.in_use_label
    assert in_use.isVisibleTo(widget)
    assert in_use.text() == "In use: tu-test_resnet on cpu, float32, batches of 8"
    drag(viewer, [(150, 20), (150, 60)], qtbot)  # more no ink, while training runs
    assert loop.labels_sent >= 1
    qtbot.waitUntil(lambda: loop.last_step.labels_version >= loop.labels_sent, timeout=30_000)
    qtbot.waitUntil(lambda: loop.last_step.step >= 150, timeout=120_000)
    trained_at = loop.last_step.step
    qtbot.waitUntil(lambda: (loop.predicted_step or 0) >= trained_at, timeout=60_000)
    panel.stop_button.click()
    qtbot.waitUntil(lambda: loop.state is State.STOPPED, timeout=30_000)

    region = loop.region
    y0, x0, y1, x1 = region
    shown = viewer.layers["ink prediction"].data[y0:y1, x0:x1] / 255
    trained = _unlabelled_f05(shown, widget, truth, region)
    untrained = _unlabelled_f05(_untrained_probability(widget.labels.segment.path, region),
                                widget, truth, region)  # fmt: skip
    print(f"F0.5 on unlabelled pixels: trained {trained:.3f}, untrained {untrained:.3f}")
    assert trained > untrained + 0.1, (trained, untrained)
    assert panel.plot.trace.count == len(losses)
    assert panel.plot.caption().endswith(f" · {min(losses):.2f}–{max(losses):.2f}")
    assert panel.threshold_value.text() == "soft"
    panel.threshold.setValue(50)  # binary view at p = 0.5
    assert panel.threshold_value.text() == "≥ 0.50"
    low, high = viewer.layers["ink prediction"].contrast_limits
    assert low < 127.5 < high
    assert high - low <= 1


def test_labels_that_cannot_train_get_a_message_and_no_preview(loop_widget, qtbot):
    _viewer, widget = loop_widget  # nothing painted yet
    shown = len(notification_manager.records)

    widget.loop_panel.finetune_button.click()

    def told() -> bool:
        messages = [record.message for record in notification_manager.records[shown:]]
        return any("no labelled pixels yet" in message for message in messages)

    qtbot.waitUntil(told, timeout=60_000)
    assert widget.loop.region is None  # no preview was asked of the untrained model
    assert widget.loop.state is not State.TRAINING
    assert widget.loop_panel.finetune_button.isEnabled()


@pytest.mark.slow
def test_a_crashed_engine_reports_keeps_labels_and_the_button_works_again(
    loop_widget, qtbot, truth
):
    viewer, widget = loop_widget
    loop, panel = widget.loop, widget.loop_panel
    paint_left_half(widget, viewer, qtbot, truth)
    labels = widget.labels.painter.canvas.codes.copy()
    panel.finetune_button.click()
    qtbot.waitUntil(lambda: loop.losses.count >= 3, timeout=60_000)
    shown = len(notification_manager.records)

    kill_abruptly(loop.engine.pid)

    qtbot.waitUntil(lambda: loop.state is State.FAILED, timeout=30_000)
    messages = [record.message for record in notification_manager.records[shown:]]
    assert any("ended unexpectedly" in message for message in messages)
    np.testing.assert_array_equal(widget.labels.painter.canvas.codes, labels)
    assert panel.finetune_button.isEnabled()
    steps_before = loop.losses.count
    panel.finetune_button.click()
    qtbot.waitUntil(lambda: loop.losses.count > steps_before, timeout=60_000)
    assert loop.state is State.TRAINING


@pytest.mark.slow
def test_closing_the_viewer_ends_the_engine_process_and_its_threads(loop_widget, qtbot, truth):
    viewer, widget = loop_widget
    paint_left_half(widget, viewer, qtbot, truth)
    widget.loop_panel.finetune_button.click()
    qtbot.waitUntil(lambda: widget.loop.losses.count >= 1, timeout=60_000)
    engine = widget.loop.engine

    viewer.close()

    assert engine.join(60)  # close() returned at once; the child ends on its own thread
    assert engine.pid not in [child.pid for child in multiprocessing.active_children()]
    assert not [t.name for t in threading.enumerate() if t.name.startswith("inkloop")]


def test_a_drawn_rectangle_becomes_the_runs_validation_region(loop_widget):
    viewer, widget = loop_widget
    widget.loop_panel.validation_button.click()
    shapes = viewer.layers["validation region"]
    assert shapes.mode == "add_rectangle"
    assert widget.run_settings().validation is None  # nothing drawn yet
    shapes.add_rectangles(np.array([[20.4, 30.0], [90.0, 150.6]]))

    # the pixels whose centres it holds: rows 21..90, columns 30..150
    assert widget.run_settings().validation == (21, 30, 91, 151)
    assert viewer.layers.selection.active is widget.labels.layer  # the brush paints again


@pytest.mark.slow
def test_new_settings_after_a_run_continue_from_its_weights_not_the_model_it_began_from(
    loop_widget, qtbot, truth, tmp_path
):
    from inkloop.checkpoint import load_checkpoint

    viewer, widget = loop_widget
    loop, panel = widget.loop, widget.loop_panel
    paint_left_half(widget, viewer, qtbot, truth)
    panel.finetune_button.click()
    qtbot.waitUntil(lambda: loop.losses.count >= 3, timeout=60_000)
    panel.stop_button.click()
    qtbot.waitUntil(lambda: loop.state is State.STOPPED, timeout=30_000)
    chosen = tmp_path / "chosen.pt"
    loop.save_checkpoint(chosen)
    qtbot.waitUntil(chosen.is_file, timeout=30_000)
    widget.model_panel.load_model(chosen)  # the next runs begin from it

    panel.finetune_button.click()  # a new engine, from the chosen model
    qtbot.waitUntil(
        lambda: loop.engine is not None and loop.engine.settings.init == chosen, timeout=10_000
    )
    begun = loop.losses.count
    qtbot.waitUntil(lambda: loop.losses.count >= begun + 3, timeout=60_000)
    panel.stop_button.click()
    autosave, chosen_step = loop.settings.autosave, load_checkpoint(chosen).step
    qtbot.waitUntil(lambda: loop.state is State.STOPPED, timeout=30_000)
    qtbot.waitUntil(lambda: loop.trained.saved == autosave, timeout=30_000)  # the save at Stop
    assert load_checkpoint(autosave).step > chosen_step

    widget.model_panel.body.lr.setValue(widget.model_panel.body.lr.value() / 2)  # new settings
    loop.warm_up()
    qtbot.waitUntil(lambda: loop.engine is not None)  # made once its labels decoded
    assert loop.engine.settings.init == autosave  # what was trained since, not chosen.pt

    widget.model_panel.clear_model()  # another start chosen: a fresh model
    loop.warm_up()
    qtbot.waitUntil(lambda: loop.engine is not None)
    assert loop.engine.settings.init is None


def test_the_status_says_paused_or_stopped_before_the_step_and_keeps_two_lines(segment_widget):
    loop, status = segment_widget.loop, segment_widget.loop_panel.status
    # two lines at least: a status that wraps onto a second line moves nothing below it
    assert status.minimumHeight() >= 2 * status.fontMetrics().lineSpacing()
    loop.event_received.emit(loop.generation, StateChanged(State.TRAINING, State.IDLE))
    loop.event_received.emit(loop.generation, StepDone(7, 1.25, 1e-3, 40.0, 8, 0, None))
    # no-break spaces: a name and its value never wrap apart
    assert status.text() == "step\u00a07 · 40\u00a0samples/s · loss\u00a01.250"

    loop.event_received.emit(loop.generation, StateChanged(State.PAUSED, State.TRAINING))
    assert status.text() == "Paused: step\u00a07 · 40\u00a0samples/s · loss\u00a01.250"
    loop.event_received.emit(loop.generation, StateChanged(State.TRAINING, State.PAUSED))
    assert status.text().startswith("step\u00a07")  # resumed
    loop.event_received.emit(loop.generation, StateChanged(State.STOPPED, State.TRAINING))
    assert status.text().startswith("Stopped: step\u00a07")
