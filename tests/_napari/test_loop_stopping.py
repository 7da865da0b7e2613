"""Stop is heard at once: the dock says "Stopping…" from the click until the run ends (the
step in flight, or a batch a stalled server holds, ends first)."""

from __future__ import annotations

from inkloop.engine import State, StateChanged, StepDone

STEP_7 = "step\u00a07 · 40\u00a0samples/s · loss\u00a01.250"


def test_stop_says_stopping_until_the_run_ends_and_cannot_be_clicked_twice(
    segment_widget, monkeypatch
):
    loop, panel = segment_widget.loop, segment_widget.loop_panel
    asked = []
    monkeypatch.setattr(loop, "stop", lambda: asked.append("stop"))  # the engine ends it later
    loop.event_received.emit(loop.generation, StateChanged(State.TRAINING, State.IDLE))
    loop.event_received.emit(loop.generation, StepDone(7, 1.25, 1e-3, 40.0, 8, 0, None))
    assert panel.status.text() == STEP_7

    panel.stop_button.click()
    assert asked == ["stop"]
    assert panel.status.text() == f"Stopping… {STEP_7}"
    assert not panel.stop_button.isEnabled()
    assert not panel.pause_button.isEnabled()
    loop.event_received.emit(loop.generation, StepDone(8, 1.0, 1e-3, 40.0, 8, 0, None))
    assert panel.status.text().startswith("Stopping… step\u00a08")  # the step in flight ended

    loop.event_received.emit(loop.generation, StateChanged(State.STOPPED, State.TRAINING))
    assert panel.status.text().startswith("Stopped: step\u00a08")
    loop.event_received.emit(loop.generation, StateChanged(State.TRAINING, State.STOPPED))
    assert panel.status.text().startswith("step\u00a08")  # the next run: nothing of the stop
    assert panel.stop_button.isEnabled()
    assert panel.pause_button.isEnabled()
