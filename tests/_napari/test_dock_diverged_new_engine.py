"""A new engine whose run diverges at its first step has trained nothing: the dock neither
names the previous engine's last step as saved nowhere nor keeps the engine for a Save,
which would write its untrained weights (closing review C13 of session 41, finding 2)."""

from __future__ import annotations

from inkloop.engine import Failed, State, StateChanged, StepDone
from tests._napari._gui import messages


def _emit(loop, *events) -> None:
    for event in events:
        loop.event_received.emit(loop.generation, event)


def test_a_new_engine_diverging_at_its_first_step_is_not_held(loop_widget, qtbot):
    loop = loop_widget[1].loop
    loop.warm_up(loop.settings)
    qtbot.waitUntil(lambda: loop.engine is not None, timeout=60_000)
    _emit(
        loop,
        StateChanged(State.TRAINING, State.IDLE),
        StepDone(200, 0.5, 1e-3, 30.0, 8, 0, None),
        StateChanged(State.STOPPED, State.TRAINING),
    )
    first = loop.engine
    loop.trained.start_over()  # Clear: the next run a fresh model
    loop.warm_up(loop.settings)
    qtbot.waitUntil(lambda: loop.engine not in (None, first), timeout=60_000)
    told = len(messages(0))
    _emit(
        loop,
        StateChanged(State.TRAINING, State.IDLE),
        Failed("training diverged at step 1 (loss nan); lower the learning rate"),
        StateChanged(State.FAILED, State.TRAINING),
    )

    (said,) = messages(told)
    assert "saved nowhere" not in said
    assert "step 200" not in said
    assert not loop.trained.held
    assert loop.engine is None
