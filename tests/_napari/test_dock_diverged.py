"""After a run whose weights diverged, the dock's next run starts from the model file's last
autosave (or where training started), not from the engine's non-finite weights, and says so
(closing review C9 of session 40, finding 3)."""

from __future__ import annotations

from inkloop._napari._model_panel import TRAINED
from inkloop.engine import CheckpointSaved, Failed, State, StateChanged, StepDone
from inkloop.engine._training import FINITE
from tests._napari._gui import messages

DIVERGED = (
    "the model was not saved: 1 weight (encoder.conv1.weight) is not finite, as training diverged"
)


def _diverged_at(loop, step: int) -> None:
    """The events of a run of the dock's settings whose weights diverged by ``step``."""
    loop.settings = loop.next_settings()  # what the engine that trained was started with
    for event in (
        StateChanged(State.TRAINING, State.IDLE),
        StepDone(step, 0.5, 1e-3, 30.0, 8, 0, None),
        StateChanged(State.FINISHED, State.TRAINING),
        Failed(DIVERGED),
        StateChanged(State.FAILED, State.FINISHED),
    ):
        loop.event_received.emit(loop.generation, event)


def test_the_next_run_starts_from_the_last_autosave_and_says_so(segment_widget, tmp_path):
    loop, panel = segment_widget.loop, segment_widget.model_panel
    autosave = tmp_path / "model.pt"
    loop.trained.autosaved(autosave, 4)
    told = len(messages(0))
    _diverged_at(loop, 6)

    said = messages(told)
    assert len(said) == 1  # once
    assert f"{DIVERGED}; the next run starts again from model.pt, which holds step 4" in said[0]
    assert "lower the learning rate" in said[0]
    assert "Clear" in said[0]
    assert panel.checkpoint_label.text() == TRAINED.format(step=4)  # not step 6
    assert loop.trained.engine_due  # a new engine, though the settings stay
    assert loop.trained.next_settings(loop.settings, loop.settings).init == autosave


def test_without_an_autosave_the_next_run_starts_where_training_did(segment_widget):
    loop, panel = segment_widget.loop, segment_widget.model_panel
    told = len(messages(0))
    _diverged_at(loop, 3)

    assert "starts again from where this training started" in messages(told)[0]
    assert "step 3" not in panel.checkpoint_label.text()
    assert loop.trained.engine_due
    assert loop.trained.next_settings(loop.settings, loop.settings).init is None


def test_the_diverged_engine_ends_and_the_next_command_makes_a_new_one(loop_widget, qtbot):
    """No preview, Predict, Next or Check stack uses the non-finite weights, which would
    show and write p = 0 (closing review C1 of session 41, finding 1)."""
    loop = loop_widget[1].loop
    loop.warm_up(loop.settings)
    qtbot.waitUntil(lambda: loop.engine is not None, timeout=60_000)
    diverged = loop.engine
    loop.view.on = True  # Finetune & preview was streaming the view
    _diverged_at(loop, 6)

    assert loop.engine is None
    assert not loop.view.on  # panning asks no engine for the view
    assert loop.state is State.FAILED
    assert diverged.join(30)
    assert loop.check_order() is not None  # Check stack: asked of a new engine
    assert loop.engine is not None
    assert loop.engine is not diverged
    assert not loop.trained.engine_due  # made from the last autosave, or the model chosen


def test_a_loss_divergence_names_the_step_its_autosave_holds(loop_widget, qtbot, tmp_path):
    """The engine autosaves a failed step before it says why (the NaN loss left the weights
    finite): the dock names that file and step, and says to lower the rate once (closing
    review C1 of session 41, finding 2)."""
    loop, panel = loop_widget[1].loop, loop_widget[1].model_panel
    loop.warm_up(loop.settings)
    qtbot.waitUntil(lambda: loop.engine is not None, timeout=60_000)
    told = len(messages(0))
    for event in (
        StateChanged(State.TRAINING, State.IDLE),
        StepDone(2, 0.5, 1e-3, 30.0, 8, 0, None),
        CheckpointSaved(str(tmp_path / "model.pt"), 2, autosave=True),
        Failed("training diverged at step 3 (loss nan); lower the learning rate"),
        StateChanged(State.FAILED, State.TRAINING),
    ):
        loop.event_received.emit(loop.generation, event)

    (said,) = messages(told)
    assert "the next run starts again from model.pt, which holds step 2" in said
    assert said.count("lower the learning rate") == 1
    assert panel.checkpoint_label.text() == TRAINED.format(step=2)


def test_a_whole_segment_prediction_under_way_keeps_the_engine_until_it_ends(
    loop_widget, qtbot, tmp_path
):
    loop = loop_widget[1].loop
    loop.warm_up(loop.settings)
    qtbot.waitUntil(lambda: loop.engine is not None, timeout=60_000)
    diverged = loop.engine
    loop.predict_segment(tmp_path / "prediction.png")
    _diverged_at(loop, 6)  # the engine's events wait on this (the GUI) thread meanwhile

    assert loop.engine is diverged
    assert not loop.view.on
    qtbot.waitUntil(lambda: not loop.predicting, timeout=60_000)
    assert loop.engine is None
    assert loop.state is State.FAILED


def test_a_loss_divergence_saved_nowhere_keeps_the_engine_for_a_save(loop_widget, qtbot, tmp_path):
    """A NaN loss leaves the weights finite: where no autosave holds its step, the engine
    stays until a Save keeps them, and the dock says so (closing review C9 of session 41,
    finding 1); it ended at once, and a Save went to a new engine of older weights."""
    loop = loop_widget[1].loop
    loop.warm_up(loop.settings)
    qtbot.waitUntil(lambda: loop.engine is not None, timeout=60_000)
    diverged = loop.engine
    told = len(messages(0))
    for event in (
        StateChanged(State.TRAINING, State.IDLE),
        StepDone(2, 0.5, 1e-3, 30.0, 8, 0, None),
        Failed(f"training diverged at step 3 (loss nan); lower the learning rate; {FINITE}"),
        StateChanged(State.FAILED, State.TRAINING),
    ):
        loop.event_received.emit(loop.generation, event)

    (said,) = messages(told)
    assert "step 2 is saved nowhere: Save model… now to keep it" in said
    assert loop.engine is diverged
    assert not loop.view.on
    assert loop.trained.engine_due  # the next run: a new engine, as after any divergence
    kept = tmp_path / "kept.pt"
    assert loop.save_checkpoint(kept)
    qtbot.waitUntil(lambda: kept.exists(), timeout=60_000)  # the kept engine wrote it
    qtbot.waitUntil(lambda: loop.engine is None, timeout=60_000)  # kept: now it ends
    assert diverged.join(30)


def test_the_engine_kept_for_a_whole_segment_prediction_is_asked_nothing_else(
    loop_widget, qtbot, tmp_path
):
    """Its weights are not finite: Check stack, Next or a second Predict would read p = 0
    (closing review C9 of session 41, finding 4)."""
    loop = loop_widget[1].loop
    loop.warm_up(loop.settings)
    qtbot.waitUntil(lambda: loop.engine is not None, timeout=60_000)
    loop.predict_segment(tmp_path / "prediction.png")
    _diverged_at(loop, 6)
    told = len(messages(0))

    assert loop.check_order() is None
    assert loop.rank(64, 4) is None
    said = messages(told)
    assert len(said) == 2
    assert "only to finish the whole-segment prediction under way" in said[0]
    qtbot.waitUntil(lambda: not loop.predicting, timeout=60_000)


def test_after_a_divergence_the_guide_counts_the_autosave_the_next_engine_loads(
    loop_widget, qtbot, tmp_path
):
    # closing review C9 of session 41, finding 5: Check stack said "Train first"
    from inkloop._napari._guide_panel import _holds_weights

    loop = loop_widget[1].loop
    loop.warm_up(loop.settings)
    qtbot.waitUntil(lambda: loop.engine is not None, timeout=60_000)
    loop.trained.autosaved(tmp_path / "model.pt", 4)
    _diverged_at(loop, 6)

    assert loop.engine is None
    assert _holds_weights(loop)
