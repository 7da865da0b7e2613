"""What the dock's next run starts from: a model chosen again (its own weights), a fresh
model once the model or the layers changed, a model chosen while a run goes on."""

from __future__ import annotations

import pytest

from inkloop.engine import CheckpointSaved, State, StateChanged, StepDone
from tests._napari._fakes import write_torch_zip
from tests._napari._gui import messages, paint_left_half


def _run_and_stop(loop, qtbot) -> int:
    """Train a few steps and stop, its weights autosaved: the last step."""
    steps = loop.losses.count
    loop.finetune()
    qtbot.waitUntil(lambda: loop.losses.count >= steps + 2, timeout=60_000)
    with qtbot.waitSignal(
        loop.changed, check_params_cb=lambda e: isinstance(e, CheckpointSaved), timeout=60_000
    ):
        loop.stop()  # saves as it stops
    return loop.last_step.step


@pytest.mark.slow
def test_a_model_chosen_again_starts_the_next_run_from_its_own_weights(
    loop_widget, qtbot, truth, tmp_path
):
    viewer, widget = loop_widget
    loop, panel = widget.loop, widget.model_panel
    paint_left_half(widget, viewer, qtbot, truth)
    first = _run_and_stop(loop, qtbot)
    chosen = tmp_path / "chosen.pt"
    with qtbot.waitSignal(loop.changed, check_params_cb=lambda e: isinstance(e, CheckpointSaved)):
        panel.save_model(chosen)
    assert panel.load_model(chosen)
    assert _run_and_stop(loop, qtbot) > first + 1  # on from the chosen model's steps

    generation = loop.generation
    assert panel.load_model(chosen)  # the same file again: back to its weights
    loop.finetune()
    qtbot.waitUntil(lambda: loop.last_step.step <= first + 1, timeout=60_000)
    assert (loop.generation, loop.engine.settings.init) == (generation + 1, chosen)
    _run_and_stop(loop, qtbot)

    panel.clear_button.click()  # a fresh model, though the last one was a fresh model too
    loop.finetune()
    qtbot.waitUntil(lambda: loop.last_step.step <= 1, timeout=60_000)
    assert (loop.generation, loop.engine.settings.init) == (generation + 2, None)
    loop.stop()


def _trained_to(loop, step: int, autosave) -> None:
    """The events of a run of the dock's settings that trained to ``step``, autosaved to
    ``autosave`` and stopped."""
    loop.settings = loop.next_settings()  # what the engine that trained was started with
    for event in (
        StateChanged(State.TRAINING, State.IDLE),
        StepDone(step, 0.5, 1e-3, 30.0, 8, 0, None),
        StateChanged(State.STOPPED, State.TRAINING),
    ):
        loop.event_received.emit(loop.generation, event)
    loop.trained.autosaved(autosave, step)


def test_a_changed_model_or_window_says_at_once_that_the_next_run_starts_anew(
    segment_widget, tmp_path
):
    loop, panel = segment_widget.loop, segment_widget.model_panel
    segment = segment_widget.segment_panel
    _trained_to(loop, 40, tmp_path / "model.pt")
    trained = "Continues from this session's training (step 40)"
    assert panel.checkpoint_label.text() == trained

    panel.body.encoder.setCurrentText("resnet34")  # another model: its weights do not fit

    left_behind = (
        "A fresh model: the training so far (step 40) does not fit the model or layers now"
    )
    assert panel.checkpoint_label.text() == left_behind
    panel.body.encoder.setCurrentText(loop.settings.model.encoder)  # back: it fits again
    assert panel.checkpoint_label.text() == trained
    panel.body.lr.stepBy(4)  # training settings: the weights carry over
    assert panel.checkpoint_label.text() == trained
    assert loop.trained.next_settings(loop.next_settings(), loop.settings).init is not None
    segment.window.mode.setCurrentText("mean")  # other input channels: the model starts anew
    assert panel.checkpoint_label.text() == left_behind
    segment.window.mode.setCurrentText("raw")
    assert panel.checkpoint_label.text() == trained
    panel.body.depth.setCurrentText("5 stages")
    assert panel.checkpoint_label.text() == left_behind
    assert loop.trained.next_settings(loop.next_settings(), loop.settings).init is None


def test_a_model_chosen_while_training_runs_stays_what_the_next_run_starts_from(
    segment_widget, tmp_path
):
    loop, panel = segment_widget.loop, segment_widget.model_panel
    _trained_to(loop, 40, tmp_path / "model.pt")
    loop.event_received.emit(loop.generation, StateChanged(State.TRAINING, State.STOPPED))
    checkpoint = tmp_path / "earlier.pt"
    write_torch_zip(checkpoint)

    assert panel.load_model(checkpoint)
    for event in (
        StepDone(45, 0.5, 1e-3, 30.0, 8, 0, None),
        StateChanged(State.PAUSED, State.TRAINING),
    ):
        loop.event_received.emit(loop.generation, event)  # the run goes on with its engine

    assert panel.checkpoint_label.text() == "Continues from the loaded model"
    assert panel.checkpoint_file.whole == "earlier.pt"


def test_a_save_that_did_not_reach_the_engine_is_not_said_saved_later(
    segment_widget, tmp_path, monkeypatch
):
    """A later checkpoint written at that path (the run's autosave, say) is not announced as
    the save the user asked for (whole-diff read C8 of session 40)."""
    loop, panel = segment_widget.loop, segment_widget.model_panel
    monkeypatch.setattr(loop, "save_checkpoint", lambda path: False)  # the engine unreached
    chosen = tmp_path / "chosen.pt"
    shown = len(messages(0))

    assert not panel.save_model(chosen)
    loop.event_received.emit(loop.generation, CheckpointSaved(str(chosen), 7))

    assert not [m for m in messages(shown) if "Saved the model" in m]
