""" "Label here next": the engine ranks boxes of unlabelled papyrus by the model's doubt."""

from __future__ import annotations

import numpy as np

from inkloop.engine import Ranked, StepDone
from inkloop.io import open_segment
from inkloop.uncertainty import MIN_UNLABELLED
from tests._engine import engine_for
from tests._events import Recorder, of_kind, steps_done


def test_ranking_runs_between_training_steps_and_skips_labelled_papyrus(training_folder):
    segment = open_segment(training_folder)
    mask = np.asarray(segment.mask)
    supervised = mask.copy()
    supervised[:, 64:] = False  # the left half is labelled
    recorder = Recorder()
    with engine_for(segment, recorder, supervised, tile=64) as engine:
        engine.start()
        recorder.wait_for(steps_done(1))
        since = recorder.mark()
        request = engine.rank(box=16, tiles=8, seed=1)
        events = recorder.wait_for(lambda es: any(isinstance(e, Ranked) for e in es), since)
        engine.stop()
        engine.wait()
    ranked = next(e for e in events if isinstance(e, Ranked))
    assert ranked.request == request
    steps_meanwhile = [e for e in events[: events.index(ranked)] if isinstance(e, StepDone)]
    assert len(steps_meanwhile) >= 2  # training went on while the tiles were ranked
    scores = [score for score, _ in ranked.boxes]
    assert scores == sorted(scores, reverse=True)
    assert ranked.boxes
    for score, (y0, x0, y1, x1) in ranked.boxes:
        assert 0 <= y0 < y1 <= min(y0 + 16, 96)  # boxes end at the image's edge
        assert 0 <= x0 < x1 <= min(x0 + 16, 128)
        open_area = mask[y0:y1, x0:x1] & ~supervised[y0:y1, x0:x1]
        assert open_area.mean() >= MIN_UNLABELLED
        assert 0 <= score <= 1


def test_an_untrained_model_neither_ranks_nor_checks_the_stack(training_folder):
    from inkloop.engine import Failed

    segment = open_segment(training_folder)
    recorder = Recorder()
    with engine_for(segment, recorder, tile=64) as engine:
        requests = {engine.rank(box=16, tiles=8), engine.check_order(tiles=2)}
        failed = recorder.wait_for(lambda es: len(of_kind(Failed, es)) == 2)
    failures = of_kind(Failed, failed)
    assert {f.request for f in failures} == requests
    assert all("has not been trained yet: train it first" in f.message for f in failures)
    assert not of_kind(Ranked, recorder.events)  # its doubt would be noise


def test_a_tile_that_fails_answers_its_ranking_and_training_goes_on(training_folder, monkeypatch):
    from inkloop.engine import Failed, State
    from inkloop.engine._rank import RankJob

    def unreadable(job, session):
        raise OSError(5, "Input/output error", "layers/03.tif")

    monkeypatch.setattr(RankJob, "step", unreadable)
    segment = open_segment(training_folder)
    recorder = Recorder()
    with engine_for(segment, recorder, tile=64) as engine:
        engine.start()
        recorder.wait_for(steps_done(1))
        request = engine.rank(box=16, tiles=8)
        (failed,) = of_kind(Failed, recorder.wait_for(lambda es: of_kind(Failed, es)))
        since = recorder.mark()
        recorder.wait_for(steps_done(1), since)
        assert engine.state is State.TRAINING
        engine.stop()
        engine.wait()
    assert failed.request == request  # Next hears its ranking ended
    assert "Input/output error" in failed.message
