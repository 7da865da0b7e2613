"""The dock's status shows each step's samples/s while the run trains, and the run's own once
it is paused or over: its samples over the seconds its steps took."""

from __future__ import annotations

from inkloop.engine import RunStarted, State, StateChanged, StepDone

NBSP = "\u00a0"


def _step(step: int, samples_per_s: float) -> StepDone:
    return StepDone(step, 1.25, 1e-3, samples_per_s, 8, 0, None)


def test_paused_and_stopped_show_the_runs_samples_per_s_not_the_last_steps(segment_widget):
    loop, status = segment_widget.loop, segment_widget.loop_panel.status

    def hear(*events) -> None:
        for event in events:
            loop.event_received.emit(loop.generation, event)

    hear(RunStarted(0, "resnet18", "cpu", "float32"), StateChanged(State.TRAINING, State.IDLE))
    hear(_step(1, 80.0), _step(2, 80.0), _step(3, 8.0))  # 24 samples in 0.1 + 0.1 + 1 s
    assert f"step{NBSP}3 · 8{NBSP}samples/s" in status.text()  # while training: the step's
    hear(StateChanged(State.PAUSED, State.TRAINING))
    assert status.text().startswith(f"Paused: step{NBSP}3 · 20{NBSP}samples/s")
    hear(StateChanged(State.TRAINING, State.PAUSED), _step(4, 10.0))  # resumed: the same run
    hear(StateChanged(State.STOPPED, State.TRAINING))  # 32 samples in 1.2 + 0.8 s
    assert status.text().startswith(f"Stopped: step{NBSP}4 · 16{NBSP}samples/s")

    hear(RunStarted(4, "resnet18", "cpu", "float32"), StateChanged(State.TRAINING, State.STOPPED))
    hear(StateChanged(State.STOPPED, State.TRAINING))  # no step: the last run's rate is not its
    assert status.text().startswith(f"Stopped: step{NBSP}4 · loss")
    hear(RunStarted(4, "resnet18", "cpu", "float32"), StateChanged(State.TRAINING, State.STOPPED))
    hear(_step(5, 40.0), StateChanged(State.FINISHED, State.TRAINING))
    assert status.text().startswith(f"Finished: step{NBSP}5 · 40{NBSP}samples/s")
