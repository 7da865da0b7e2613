"""One-off predictions sharing the engine's turns with each other and with training."""

from __future__ import annotations

from inkloop.engine import PredictionReady, StepDone
from tests._engine import WHOLE, engine_for, rounds_done
from tests._events import TIMEOUT, Recorder, steps_done


def test_two_predictions_asked_for_at_once_both_finish_and_training_goes_on(segment):
    recorder = Recorder()
    with engine_for(segment, recorder, tile=64) as engine:
        engine.start()
        recorder.wait_for(steps_done(1))
        first, second = engine.predict(WHOLE), engine.predict(WHOLE)
        both = recorder.wait_for(
            lambda events: rounds_done(first, 1)(events) and rounds_done(second, 1)(events)
        )
        since = len(both)
        recorder.wait_for(lambda events: any(isinstance(e, StepDone) for e in events), since)
        engine.stop()
        assert engine.wait(TIMEOUT)
    streamed = [e.request for e in recorder.events if isinstance(e, PredictionReady)]
    assert streamed == [first] * 6 + [second] * 6  # one after the other, neither cut short
