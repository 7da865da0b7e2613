"""The dock's side of an engine start: a fresh segment's first stroke starts the engine, and
Finetune & preview says what it waits for and stays off until the run begins."""

from __future__ import annotations

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
