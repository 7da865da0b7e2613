"""Soft brushes: falloff, max-combine, fuzzy levels, no ink, erase, undo and redo."""

from __future__ import annotations

import tracemalloc

import numpy as np
import pytest

from inkloop.brush import (
    Brush,
    PredictionLabels,
    decode_labels,
    encode_labels,
    footprint,
    ink_from_prediction,
    posterize,
)
from inkloop.canvas import TILE, LabelCanvas


def _canvas(shape=(256, 256)) -> LabelCanvas:
    return LabelCanvas(np.zeros(shape, np.uint8), np.zeros(shape, bool))


def test_footprint_is_one_in_the_core_and_fades_to_zero_at_the_radius():
    values = footprint(20.0, 0.5)
    centre = values.shape[0] // 2
    profile = values[centre, centre:]
    assert profile[0] == 1.0
    assert (profile[:10] == 1.0).all()  # the hard core: half the radius
    assert (np.diff(profile) <= 0).all()
    assert 0 < profile[15] < 1
    assert profile[20] == 0.0
    hard = footprint(10.0, 1.0)
    assert set(np.unique(hard)) == {0.0, 1.0}


def test_strength_sets_the_centre_and_repeated_ink_combines_by_maximum():
    canvas = _canvas()
    canvas.stamp(100, 100, Brush(radius=10, strength=0.6))
    assert canvas.ink[100, 100] == round(0.6 * 255)
    canvas.stamp(100, 100, Brush(radius=10, strength=0.3))  # weaker: nothing gets weaker
    assert canvas.ink[100, 100] == round(0.6 * 255)
    canvas.stamp(100, 100, Brush(radius=10, strength=1.0))
    assert canvas.ink[100, 100] == 255
    assert canvas.supervised[100, 91:110].all()
    assert not canvas.supervised[100, 111]


def test_fuzzy_brush_paints_a_few_levels_only():
    canvas = _canvas()
    canvas.stamp(128, 128, Brush(radius=30, hardness=0.0, levels=4))
    painted = np.unique(canvas.ink[canvas.supervised])
    assert set(painted.tolist()) <= {64, 128, 191, 255}
    assert len(painted) == 4
    np.testing.assert_allclose(posterize(np.array([0.0, 0.1, 0.26, 1.0]), 4), [0, 0.25, 0.5, 1])


def test_no_ink_is_supervised_zero_and_erase_forgets():
    canvas = _canvas()
    canvas.stamp(50, 50, Brush(radius=10))
    canvas.stamp(50, 50, Brush(radius=5, hardness=1.0, mode="no_ink"))
    assert canvas.ink[50, 50] == 0
    assert canvas.supervised[50, 50]
    assert canvas.ink[50, 57] > 0  # outside the no-ink stamp, the ink stays
    canvas.stamp(50, 50, Brush(radius=12, hardness=1.0, mode="erase"))
    assert not canvas.ink[38:63, 38:63].any()
    assert not canvas.supervised[39:62, 39:62].any()


def test_stamps_at_and_past_the_edge():
    canvas = _canvas((64, 64))
    assert canvas.stamp(0, 63, Brush(radius=8)) == (0, 55, 9, 64)
    assert canvas.stamp(-30, -30, Brush(radius=8)) is None


def test_undo_and_redo_whole_strokes():
    canvas = _canvas()
    empty = canvas.ink.copy()
    canvas.begin_stroke()
    for x in range(40, 200, 5):
        canvas.stamp(120, x, Brush(radius=12))
    canvas.end_stroke()
    painted = canvas.ink.copy(), canvas.supervised.copy()
    canvas.stamp(10, 10, Brush(radius=6))  # a lone stamp is a stroke of its own
    box = canvas.undo()
    assert box[0] <= 10 < box[2]
    assert canvas.undo() is not None
    np.testing.assert_array_equal(canvas.ink, empty)
    assert not canvas.supervised.any()
    canvas.redo()
    np.testing.assert_array_equal(canvas.ink, painted[0])
    np.testing.assert_array_equal(canvas.supervised, painted[1])
    assert canvas.undo() is not None
    canvas.stamp(200, 200, Brush(radius=4))  # a new stroke drops what could be redone
    assert canvas.redo() is None


def test_history_keeps_fifty_strokes_and_memory_follows_the_painted_area():
    canvas = _canvas((4096, 4096))
    for i in range(60):
        canvas.stamp(100 + i * 60, 100 + i * 60, Brush(radius=20))
    undone = 0
    while canvas.undo() is not None:
        undone += 1
    assert undone == 50
    assert canvas.ink[100 + 9 * 60, 100 + 9 * 60] > 0  # the ten oldest strokes stay
    canvas = _canvas((4096, 4096))
    canvas.begin_stroke()
    for i in range(0, 4000, 10):  # a diagonal across the whole canvas
        canvas.stamp(i, i, Brush(radius=20))
    canvas.end_stroke()
    assert canvas.history_nbytes < canvas.codes.nbytes / 15  # the diagonal's tiles only
    assert canvas.history_nbytes <= (3 * (4096 // TILE) + 2) * TILE * TILE * 2


def test_replacing_the_labels_is_one_stroke_that_keeps_only_the_box_that_differs():
    canvas = _canvas((512, 512))
    canvas.stamp(100, 100, Brush(radius=10))
    painted, held = canvas.codes.copy(), canvas.history_nbytes
    loaded = painted.copy()
    loaded[300:340, 200:260] = encode_labels(
        np.full((40, 60), 90, np.uint8), np.ones((40, 60), bool)
    )
    loaded[90:110, 90:110] = 0  # the loaded file lacks the stroke

    box = canvas.replace(loaded)

    assert box == (64, 64, 384, 320)  # the tiles around rows 90..340, columns 90..260
    np.testing.assert_array_equal(canvas.codes, loaded)
    assert canvas.history_nbytes - held == 5 * TILE * TILE * 2  # the tiles that differ
    assert canvas.replace(loaded) is None  # nothing differs: no stroke
    canvas.undo()
    np.testing.assert_array_equal(canvas.codes, painted)
    canvas.redo()
    np.testing.assert_array_equal(canvas.codes, loaded)
    with pytest.raises(ValueError, match="do not match"):
        canvas.replace(loaded[:100])


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"mode": "paint"}, "unknown brush mode"),
        ({"radius": 0}, "radius must be > 0"),
        ({"levels": 0}, "at least 1 level"),
    ],
)
def test_bad_brush_settings_are_refused(settings, message):
    with pytest.raises(ValueError, match=message):
        Brush(**settings)


def test_label_codes_round_trip_every_strength_and_keep_unlabelled_apart():
    ink = np.arange(256, dtype=np.uint8).reshape(16, 16)
    supervised = np.ones((16, 16), bool)
    supervised[0, :4] = False
    codes = encode_labels(ink, supervised)
    assert codes.dtype == np.uint16
    assert (codes[0, :4] == 0).all()
    assert codes[0, 4] == 1 + 4
    assert codes[15, 15] == 256
    decoded_ink, decoded_supervised = decode_labels(codes)
    np.testing.assert_array_equal(decoded_supervised, supervised)
    np.testing.assert_array_equal(decoded_ink[supervised], ink[supervised])
    assert not decoded_ink[~supervised].any()


def test_canvas_from_codes_paints_in_place_and_reports_the_stroke_box():
    codes = np.zeros((128, 128), np.uint16)
    canvas = LabelCanvas.from_codes(codes)
    canvas.begin_stroke()
    canvas.stamp(10, 10, Brush(radius=4, hardness=1.0))
    canvas.stamp(10, 70, Brush(radius=4, hardness=1.0, mode="no_ink"))
    box = canvas.end_stroke()
    assert codes[10, 10] == 256  # the caller's array is the canvas
    assert codes[10, 70] == 1
    assert box == (0, 0, 64, 128)  # the two 64-pixel tiles the stroke touched
    ink, supervised = canvas.labels((0, 0, 20, 20))
    assert ink[10, 10] == 255
    assert supervised.sum() == (codes[:20, :20] > 0).sum()
    assert canvas.end_stroke() is None  # no stroke open
    with pytest.raises(ValueError, match="uint16"):
        LabelCanvas.from_codes(np.zeros((8, 8), np.uint8))


def test_accept_labels_the_prediction_under_the_brush_and_undoes():
    canvas = _canvas((40, 40))
    probability = np.linspace(0, 255, 40 * 40).reshape(40, 40).astype(np.uint8)
    with pytest.raises(ValueError, match="no prediction to accept yet"):
        canvas.stamp(20, 20, Brush(radius=4, mode="accept"))
    known = np.ones((40, 40), bool)
    box = canvas.stamp(
        20, 20, Brush(radius=4, hardness=0.0, mode="accept"), PredictionLabels(probability, known)
    )
    y0, x0, y1, x1 = box
    ink, supervised = canvas.labels(box)
    assert supervised.sum() == (footprint(4, 0.0) > 0).sum()
    # the strength is the probability, not the brush's fall-off
    assert np.array_equal(ink[supervised], probability[y0:y1, x0:x1][supervised])
    assert canvas.accepted_pixels == supervised.sum()
    canvas.undo()
    assert not canvas.supervised.any()


def test_accept_leaves_alone_what_was_not_predicted_and_can_threshold():
    canvas = _canvas((64, 64))
    probability = np.full((64, 64), 200, np.uint8)
    probability[:, :32] = 100
    known = np.zeros((4, 4), bool)  # cells of 16 pixels
    known[:, :3] = True  # columns 0-47 predicted
    hard = PredictionLabels(probability, known, cell=16, threshold=0.5, soft=False)
    canvas.accept_box((10, 10, 60, 60), hard)
    ink, supervised = canvas.labels((0, 0, 64, 64))
    assert supervised[10:60, 10:48].all()
    assert not supervised[:, 48:].any()
    assert not supervised[:10].any()
    assert (ink[10:60, 10:32] == 0).all()  # below the threshold: "no ink"
    assert (ink[10:60, 32:48] == 255).all()
    assert canvas.accepted_pixels == 50 * 38
    canvas.undo()
    assert not canvas.supervised.any()
    with pytest.raises(ValueError, match="accepted box"):
        canvas.accept_box((5, 5, 80, 25), hard)


def test_soft_prediction_labels_keep_strength_above_the_threshold():
    probability = np.array([[0.1, 0.4, 0.7, 1.0]], np.float32)
    assert ink_from_prediction(probability, 0.5).tolist() == [[0, 0, 178, 255]]
    assert ink_from_prediction(probability, 0.5, soft=False).tolist() == [[0, 0, 255, 255]]
    assert ink_from_prediction((probability * 255).astype(np.uint8)).tolist() == [
        [25, 102, 178, 255]
    ]


def test_label_codes_are_built_in_one_uint16_buffer():
    ink = np.full((400, 500), 200, np.uint8)
    ink[:, :50] = 0
    supervised = np.zeros(ink.shape, bool)
    supervised[100:] = True
    tracemalloc.start()
    try:
        codes = encode_labels(ink, supervised)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()

    np.testing.assert_array_equal(codes, np.where(supervised, ink.astype(np.uint16) + 1, 0))
    assert codes.dtype == np.uint16
    assert peak < 1.25 * codes.nbytes  # no temporary of its size: a whole segment's are GBs


@pytest.mark.parametrize(("strength", "levels"), [(0.3, 4), (0.2, 1), (0.49, 3)])
def test_fuzzy_steps_never_raise_a_stroke_above_its_strength(strength, levels):
    canvas = _canvas()
    canvas.stamp(128, 128, Brush(radius=10, hardness=0.0, strength=strength, levels=levels))
    painted = np.unique(canvas.ink[canvas.supervised])
    assert len(painted) == levels  # steps of the strength
    assert abs(int(painted.max()) - strength * 255) <= 0.5 + 1e-3  # the centre: the strength
    assert painted.max() < 128  # a faint stroke stays below the ink level, "not ink"


@pytest.mark.parametrize("mode", ["no_ink", "erase", "accept"])
def test_strength_shapes_ink_only_the_other_modes_take_the_whole_disc(mode):
    codes = np.full((64, 64), 201, np.uint16) if mode == "erase" else np.zeros((64, 64), np.uint16)
    canvas = LabelCanvas.from_codes(codes)
    before = codes.copy()
    brush = Brush(radius=6, hardness=0.0, strength=0.0, mode=mode)
    canvas.stamp(32, 32, brush, np.full((64, 64), 101, np.uint16))
    changed = codes != before
    assert changed.sum() == (footprint(6, 0.0) > 0).sum()  # the whole disc, at strength 0
    np.testing.assert_array_equal(brush.reach(), footprint(6, 0.0) > 0)
    assert canvas.stamp(32, 32, Brush(radius=6, strength=0.0)) is not None  # ink at 0 ...
    assert (changed == (codes != before)).all()  # ... paints nothing
