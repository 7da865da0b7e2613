"""The validation region and a run (r3 F2): no region is started while a run goes on (its
engine would train on the region's labels), and a run that goes on from weights trained
before the region was drawn says that the region's F0.5 reads high."""

from __future__ import annotations

from inkloop._napari._held_out import SEEN_REGION
from inkloop._napari._loop_panel import REGION_TIP, STOP_FIRST_TIP, VALIDATION_LAYER
from inkloop._napari._rectangle import box_corners
from inkloop._napari._say import PREFIX
from inkloop.engine import CheckpointSaved, State, StateChanged, StepDone
from tests._napari._fakes import fake_engines
from tests._napari._gui import messages


def _report(loop, *events) -> None:
    for event in events:
        loop.event_received.emit(loop.generation, event)


def _run(widget, made, qtbot, autosave=None) -> None:
    """Finetune & preview on a fake engine: the run begins, trains a step (autosaved to
    ``autosave``, if given) and stops."""
    loop = widget.loop
    widget.loop_panel.finetune_button.click()
    qtbot.waitUntil(lambda: bool(made) and made[-1].starts > 0)  # a new engine, or the last
    _report(loop, StateChanged(State.TRAINING, State.IDLE), StepDone(1, 0.5, 0.1, 9.0, 8, 0, None))
    if autosave is not None:
        _report(loop, CheckpointSaved(str(autosave), 1, autosave=True))
    _report(loop, StateChanged(State.STOPPED, State.TRAINING))
    made[-1].starts = 0


def _draw_region(widget, box) -> None:
    widget.loop_panel.validation_button.click()
    widget.viewer.layers[VALIDATION_LAYER].add_rectangles(box_corners(box))


def test_no_region_is_started_while_a_run_goes_on(segment_widget, qtbot, monkeypatch):
    made = fake_engines(monkeypatch)
    loop, button = segment_widget.loop, segment_widget.loop_panel.validation_button
    assert button.isEnabled()

    segment_widget.loop_panel.finetune_button.click()  # the engine starts: its settings are set
    assert not button.isEnabled()
    qtbot.waitUntil(lambda: bool(made) and made[0].starts == 1)
    for state, previous in ((State.TRAINING, State.IDLE), (State.PAUSED, State.TRAINING)):
        _report(loop, StateChanged(state, previous))
        assert not button.isEnabled()
        assert button.toolTip() == STOP_FIRST_TIP

    _report(loop, StateChanged(State.STOPPED, State.PAUSED))
    assert button.isEnabled()
    assert button.toolTip() == REGION_TIP


def test_a_run_on_weights_trained_before_the_region_says_its_score_reads_high(
    segment_widget, qtbot, monkeypatch, tmp_path
):
    made = fake_engines(monkeypatch)
    autosave = tmp_path / "model.pt"
    _run(segment_widget, made, qtbot, autosave)  # no region: every label trained
    _draw_region(segment_widget, (10, 20, 50, 80))
    shown = len(messages(0))

    _run(segment_widget, made, qtbot)  # goes on from the weights trained on the region
    assert (made[-1].settings.init, made[-1].settings.validation) == (autosave, (10, 20, 50, 80))
    assert messages(shown) == [PREFIX + SEEN_REGION]
    _run(segment_widget, made, qtbot)  # Stop, Finetune again: said once
    assert messages(shown) == [PREFIX + SEEN_REGION]

    segment_widget.model_panel.clear_button.click()  # a fresh model: a clean score
    _run(segment_widget, made, qtbot)
    assert made[-1].settings.init is None
    assert messages(shown) == [PREFIX + SEEN_REGION]


def test_a_region_held_out_from_the_start_scores_clean_where_it_stays_inside(
    segment_widget, qtbot, monkeypatch, tmp_path
):
    made = fake_engines(monkeypatch)
    autosave = tmp_path / "model.pt"
    _draw_region(segment_widget, (10, 20, 50, 80))
    _run(segment_widget, made, qtbot, autosave)
    shown = len(messages(0))

    _draw_region(segment_widget, (20, 30, 40, 70))  # shrunk: its labels were all held out
    _run(segment_widget, made, qtbot, autosave)
    assert made[-1].settings.init == autosave
    assert messages(shown) == []

    _draw_region(segment_widget, (20, 30, 60, 70))  # grown past the first: rows 50-60 trained
    _run(segment_widget, made, qtbot)
    assert messages(shown) == [PREFIX + SEEN_REGION]
