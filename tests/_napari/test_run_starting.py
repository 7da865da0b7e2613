"""The dock's side of an engine start: a fresh segment's first stroke starts the engine, and
Finetune & preview says what it waits for and stays off until the run begins."""

from __future__ import annotations

import dataclasses

from inkloop._napari._engine_start import STARTING_ENGINE, STARTING_RUN
from inkloop.engine import State, StateChanged
from tests._napari._fakes import fake_engines, ink_stroke


def test_the_dock_starts_a_fresh_segment_s_engine_at_its_first_stroke(
    open_in_dock, unlabelled_folder, qtbot, monkeypatch
):
    made = fake_engines(monkeypatch)
    _, widget = open_in_dock(unlabelled_folder, warm_engine=True)
    loop = widget.loop
    assert loop.engine is None  # opened to look at
    assert loop.starts.pending is None

    ink_stroke(widget.labels.painter, 40, 40)

    qtbot.waitUntil(lambda: loop.engine is not None)
    ink_stroke(widget.labels.painter, 80, 80)
    assert len(made) == 1


def test_finetune_says_what_it_waits_for_and_stays_off_until_the_run_begins(
    segment_widget, qtbot, monkeypatch
):
    made = fake_engines(monkeypatch)
    loop, panel = segment_widget.loop, segment_widget.loop_panel
    assert panel.finetune_button.isEnabled()

    panel.finetune_button.click()

    assert panel.status.text() == STARTING_ENGINE
    assert not panel.finetune_button.isEnabled()
    qtbot.waitUntil(lambda: bool(made) and made[0].starts == 1)  # asked; not begun yet
    ink_stroke(segment_widget.labels.painter, 20, 20)  # painting meanwhile says nothing else
    assert panel.status.text() == STARTING_ENGINE
    assert not panel.finetune_button.isEnabled()
    made[0].report(StateChanged(State.STOPPED, State.IDLE))  # the engine answered: over
    qtbot.waitUntil(lambda: panel.finetune_button.isEnabled())
    assert panel.status.text() != STARTING_ENGINE

    loop.ready = True  # an engine set up: the next click waits for the run only
    panel.finetune_button.click()
    assert panel.status.text() == STARTING_RUN
    assert not panel.finetune_button.isEnabled()


def test_a_click_waiting_for_an_engine_waits_for_its_replacement(
    segment_widget, qtbot, monkeypatch
):
    """Load model… (other settings) while Finetune & preview waits: the run begins on the new
    engine, not dropped without a word (closing review 2, F4)."""
    made = fake_engines(monkeypatch)
    loop, panel = segment_widget.loop, segment_widget.loop_panel
    panel.finetune_button.click()
    assert loop.starting

    train = dataclasses.replace(loop.settings.train, seed=loop.settings.train.seed + 1)
    loop.warm_up(dataclasses.replace(loop.settings, train=train))

    assert loop.starting
    assert panel.status.text() == STARTING_ENGINE
    qtbot.waitUntil(lambda: bool(made) and made[-1].starts == 1)
    assert all(engine.closed for engine in made[:-1])  # a replaced one began no run


def test_after_the_engine_died_a_click_waits_for_a_fresh_process(
    segment_widget, qtbot, monkeypatch
):
    """A lost engine's successor imports torch again: the click says so (closing review 2, F6)."""
    made = fake_engines(monkeypatch)
    loop, panel = segment_widget.loop, segment_widget.loop_panel
    panel.finetune_button.click()
    qtbot.waitUntil(lambda: bool(made) and made[0].starts == 1)
    loop.ready = True
    made[0].alive = False
    loop._apply(loop.generation, StateChanged(State.FAILED, State.TRAINING))

    assert not loop.ready
    panel.finetune_button.click()  # the process respawns: IDLE first, then the run begins
    assert panel.status.text() == STARTING_ENGINE
    loop._apply(loop.generation, StateChanged(State.IDLE, State.FAILED))
    assert panel.status.text() == STARTING_ENGINE
    assert not panel.finetune_button.isEnabled()
    loop._apply(loop.generation, StateChanged(State.TRAINING, State.IDLE))
    assert not loop.starting
