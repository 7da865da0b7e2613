"""The standing viewport preview: streamed tile by tile between training steps, centre first,
paid for by training time, re-aimed by views and strokes."""

from __future__ import annotations

import dataclasses
import itertools

import numpy as np
import pytest

from inkloop.compose import sample_normalisation
from inkloop.engine import Failed, PredictionReady, State, StateChanged, StepDone
from inkloop.engine._preview import PreviewSchedule
from inkloop.model import build_model
from inkloop.predict import Predictor, tile_corners
from tests._engine import WHOLE, engine_for, predictions, preview_while_training, rounds_done
from tests._events import TIMEOUT, Recorder, of_kind, state_reached, steps_done
from tests._helpers import FULL_RESOLUTION, tiny_model


@pytest.fixture
def predictor(segment):
    composition = FULL_RESOLUTION.resolve(segment.shape[0])
    config = dataclasses.replace(tiny_model(), in_channels=composition.in_channels)
    normalisation = sample_normalisation(segment, composition)
    return Predictor(build_model(config).eval(), composition, normalisation, tile=64, overlap=32)


def test_a_preview_streams_the_centre_tile_first_and_covers_the_region(segment):
    recorder = Recorder()
    mask = np.asarray(segment.mask)
    with engine_for(segment, recorder, tile=64) as engine:
        request = engine.preview(WHOLE)  # idle: builds a model and predicts once
        recorder.wait_for(rounds_done(request, 1))
        assert engine.wait(TIMEOUT)
    updates = predictions(request)(recorder.events)
    (y, x) = tile_corners(WHOLE, mask.shape, 64, 32, mask)[0]
    assert updates[0].region == (y, x, y + 64, x + 64)
    assert [u.tiles_done for u in updates] == list(range(1, updates[0].tiles_total + 1))
    covered = np.zeros(mask.shape, bool)
    for update in updates:
        y0, x0, y1, x1 = update.region
        assert update.probability.shape == (y1 - y0, x1 - x0)
        assert update.probability.dtype == np.float32
        covered[y0:y1, x0:x1] = True
    assert covered[mask].all()
    assert {u.step for u in updates} == {0}
    assert recorder.states() == []


def test_a_new_preview_abandons_the_one_in_flight(segment):
    recorder = Recorder()
    new_region = (0, 0, 64, 64)
    with engine_for(segment, recorder, tile=64) as engine:
        requests = []

        def pan_on_first_tile(event):  # runs on the worker, between two tiles
            if isinstance(event, PredictionReady) and len(requests) == 1:
                requests.append(engine.preview(new_region))

        engine.subscribe(pan_on_first_tile)
        requests.append(engine.preview(WHOLE))
        recorder.wait_for(lambda events: len(requests) == 2)
        recorder.wait_for(rounds_done(requests[1], 1))
    old, new = predictions(requests[0])(recorder.events), predictions(requests[1])(recorder.events)
    assert len(old) == 1
    assert old[0].tiles_done == 1 < old[0].tiles_total
    first_new = recorder.events.index(new[0])
    assert all(e.request != requests[0] for e in predictions()(recorder.events[first_new:]))
    assert all(_inside(e.region, new_region) for e in new)


def _inside(box, region) -> bool:
    return region[0] <= box[0] < box[2] <= region[2] and region[1] <= box[1] < box[3] <= region[3]


def test_a_preview_is_predicted_again_while_training(segment):
    recorder = Recorder()
    with engine_for(segment, recorder, tile=64) as engine:
        engine.start()
        request = engine.preview(WHOLE, every=0.0)
        recorder.wait_for(rounds_done(request, 3))
        engine.stop()
        assert engine.wait(TIMEOUT)
    finished = [
        e.step for e in predictions(request)(recorder.events) if e.tiles_done == e.tiles_total
    ]
    assert finished[:3] == sorted(set(finished[:3]))  # each round with newer weights
    assert len(recorder.of(StepDone)) >= 2


def test_stop_cuts_a_preview_short(segment):
    recorder = Recorder()
    with engine_for(segment, recorder, tile=64) as engine:

        def stop_on_first_tile(event):
            if isinstance(event, PredictionReady) and event.tiles_done == 1:
                engine.stop()

        engine.start()
        recorder.wait_for(steps_done(1))
        engine.subscribe(stop_on_first_tile)
        engine.preview(WHOLE)
        assert engine.wait(TIMEOUT)
        assert engine.state is State.STOPPED
    kinds = [type(e) for e in recorder.events if isinstance(e, (PredictionReady, StateChanged))]
    first = kinds.index(PredictionReady)
    assert kinds[first + 1] is StateChanged  # no other tile before the stop took effect


def test_after_a_stop_mid_round_every_tile_shown_comes_from_the_last_weights(segment):
    recorder = Recorder()
    with engine_for(segment, recorder, tile=64) as engine:
        stopped = []

        def stop_mid_round(event):  # on the worker: a step taken while a round is part shown
            shown = of_kind(PredictionReady, recorder.events)
            mid_round = shown and shown[-1].tiles_done < shown[-1].tiles_total
            if isinstance(event, StepDone) and mid_round and not stopped:
                stopped.append(event.step)
                engine.stop()  # applied before the next step: this step's weights are the last

        engine.subscribe(stop_mid_round)
        engine.start()
        engine.preview(WHOLE, every=0.0)
        recorder.wait_for(state_reached(State.STOPPED))
        recorder.wait_for(lambda events: set(_last_shown(events).values()) == set(stopped))
    assert of_kind(StepDone, recorder.events)[-1].step == stopped[0]
    assert len(_last_shown(recorder.events)) == len(tile_corners(WHOLE, (96, 128), 64, 32))


def _last_shown(events) -> dict:
    """The step behind each tile as last shown."""
    return {event.region: event.step for event in of_kind(PredictionReady, events)}


def test_a_bad_preview_fails_once_and_is_dropped(segment):
    recorder = Recorder()
    with engine_for(segment, recorder, tile=64) as engine:
        engine.preview((0, 0, 500, 500))
        recorder.wait_for(lambda events: any(isinstance(e, Failed) for e in events))
        request = engine.predict((0, 0, 32, 32))
        recorder.wait_for(rounds_done(request, 1))
    assert len(recorder.of(Failed)) == 1
    assert "outside the 96x128 segment" in recorder.of(Failed)[0].message


def test_while_training_each_preview_batch_waits_for_training_to_pay_for_it(segment):
    recorder = Recorder()
    with engine_for(segment, recorder, tile=64, preview_share=0.5) as engine:
        preview_while_training(engine, recorder, rounds=2)
    events = [e for e in recorder.events if isinstance(e, (PredictionReady, StepDone))]
    batches = [i for i, e in enumerate(events) if isinstance(e, PredictionReady)]
    assert len(batches) >= 2 * len(tile_corners(WHOLE, (96, 128), 64, 32, engine.mask))
    for first, second in itertools.pairwise(batches):
        assert second - first > 1, "no training step between two preview batches"


def _schedule(region, share=0.2):
    schedule = PreviewSchedule(share)
    schedule.aim(1, region, every=0.0)
    return schedule


def _tiles_shown(events, region, shape=(96, 128), tile=64):
    """The tile corner behind each one-tile update (its box is the tile clipped to region)."""
    y0, x0, y1, x1 = region

    def box(corner):
        y, x = corner
        return max(y, y0), max(x, x0), min(y + tile, y1), min(x + tile, x1)

    corners = tile_corners(region, shape, tile, 32)
    return [next(c for c in corners if box(c) == event.region) for event in events]


def test_a_batch_is_paid_back_by_training_time_at_the_preview_share(segment, predictor):
    schedule = _schedule(WHOLE, share=0.2)
    assert schedule.due(step=0, training=True, now=0.0)  # a new view's centre never waits
    schedule.next_batch(predictor, segment, None, step=0, training=True)
    owed = schedule.debt
    assert owed > 0
    assert not schedule.due(step=1, training=True, now=0.0)
    assert schedule.due(step=1, training=False, now=0.0)  # paused or stopped: no budget
    schedule.paid(owed * 0.99)
    assert not schedule.due(step=2, training=True, now=0.0)
    schedule.paid(owed * 0.02)
    assert schedule.due(step=2, training=True, now=0.0)


def test_a_round_ends_when_every_tile_was_shown_and_waits_for_new_weights(segment, predictor):
    schedule = _schedule(WHOLE, share=1.0)  # share 1: no budget, the order alone
    total = len(tile_corners(WHOLE, segment.shape[1:], 64, 32))
    events = [schedule.next_batch(predictor, segment, None, 0, False) for _ in range(total)]
    assert [e.tiles_done for e in events] == list(range(1, total + 1))
    assert not schedule.due(step=0, training=False, now=0.0)  # the same weights: nothing new
    assert schedule.due(step=1, training=False, now=0.0)


def test_a_pan_shows_the_new_centre_then_what_was_never_shown(segment, predictor):
    left, right = (0, 0, 96, 64), (0, 32, 96, 128)
    schedule = _schedule(left, share=1.0)
    for _ in range(len(tile_corners(left, segment.shape[1:], 64, 32))):
        schedule.next_batch(predictor, segment, None, 0, False)
    shown = set(schedule.shown)
    schedule.aim(2, right, every=0.0)
    order = tile_corners(right, segment.shape[1:], 64, 32)
    events = [schedule.next_batch(predictor, segment, None, 1, False) for _ in order]
    corners = _tiles_shown(events, right)
    assert corners[0] == order[0]  # the centre of the new view first
    unshown = [c for c in corners[1:] if c not in shown]
    assert corners[1 : 1 + len(unshown)] == unshown  # then what the pan uncovered
    assert unshown


def test_a_stroke_in_view_moves_the_tiles_next_to_it_to_the_front(segment, predictor):
    schedule = _schedule(WHOLE, share=1.0)
    schedule.next_batch(predictor, segment, None, 0, False)  # the centre
    schedule.stroke = (70, 100, 90, 120)  # bottom right
    event = schedule.next_batch(predictor, segment, None, 0, False)
    assert _tiles_shown([event], WHOLE) == [(32, 64)]  # the tile holding the stroke
    schedule.stroke = (0, 0, 500, 500)  # covers everything: a harmless re-sort
    schedule.next_batch(predictor, segment, None, 0, False)


def test_a_view_without_papyrus_gets_one_empty_answer(segment, predictor):
    mask = np.zeros(segment.shape[1:], bool)
    schedule = _schedule(WHOLE)
    event = schedule.next_batch(predictor, segment, mask, 0, True)
    assert (event.tiles_done, event.tiles_total) == (0, 0)
    assert event.region == WHOLE
    assert not event.probability.any()
    assert not schedule.due(step=0, training=False, now=0.0)


def test_a_round_over_several_steps_is_predicted_again_once_training_stops(segment, predictor):
    left = (0, 0, 96, 64)  # four tiles
    schedule = _schedule(left, share=1.0)
    total = len(tile_corners(left, segment.shape[1:], 64, 32))
    shown = {}
    for step in range(total):  # a training step between any two tiles (a CPU's batch is 1)
        event = schedule.next_batch(predictor, segment, None, step, training=True)
        shown[event.region] = event.step
    last = total - 1  # training stops: these weights are the last
    assert schedule.due(step=last, training=False, now=0.0)
    for _ in range(total):
        event = schedule.next_batch(predictor, segment, None, last, training=False)
        shown[event.region] = event.step
    assert set(shown.values()) == {last}
    assert not schedule.due(step=last, training=False, now=0.0)  # settled on the last weights
