"""The canvas's undo history: only changed tiles, a memory cap, no undo mid-stroke, and the
count of accepted pixels it keeps in step with undo and redo."""

from __future__ import annotations

import numpy as np

from inkloop.brush import NO_INK, Brush, footprint
from inkloop.canvas import TILE, LabelCanvas

TILE_BYTES = TILE * TILE * 2


def _canvas(shape=(256, 256), **history) -> LabelCanvas:
    return LabelCanvas(np.zeros(shape, np.uint8), np.zeros(shape, bool), **history)


def _prediction(shape=(256, 256), code=201) -> np.ndarray:
    return np.full(shape, code, np.uint16)


def test_accepting_counts_each_pixel_it_changes_once_and_undo_takes_the_count_back():
    canvas, prediction = _canvas(), _prediction()
    brush = Brush(radius=10, hardness=1.0, mode="accept")
    canvas.begin_stroke()
    for x in range(40, 200, 3):  # stamps overlapping as a drag lays them
        canvas.stamp(100, x, brush, prediction)
    canvas.end_stroke()
    labelled = int(canvas.supervised.sum())
    assert canvas.accepted_pixels == labelled

    box = (0, 0, 128, 128)
    canvas.accept_box(box, prediction)
    boxed = int(canvas.supervised.sum())
    assert canvas.accepted_pixels == boxed  # the pixels the stroke had accepted count once
    assert canvas.accept_box(box, prediction) is None  # the same again changes nothing
    assert canvas.accepted_pixels == boxed

    canvas.undo()
    assert canvas.accepted_pixels == labelled
    canvas.undo()
    assert canvas.accepted_pixels == 0
    canvas.redo()
    canvas.redo()
    assert canvas.accepted_pixels == boxed
    assert canvas.redo() is None  # the repeated box made no step


def test_a_stroke_keeps_only_the_tiles_it_changed_and_one_that_changed_nothing_is_no_step():
    canvas = _canvas()
    canvas.stamp(32, 32, Brush(radius=8))
    accepted = np.zeros(canvas.shape, np.uint16)
    accepted[200:210, 200:210] = 100
    assert canvas.accept_box((0, 0, 256, 256), accepted) == (192, 192, 256, 256)
    assert canvas.history_nbytes == 2 * TILE_BYTES  # one tile per stroke, not the canvas
    assert canvas.undo() == (192, 192, 256, 256)
    painted = canvas.codes.copy()

    assert canvas.stamp(150, 150, Brush(radius=8, mode="erase")) is not None  # nothing there
    canvas.begin_stroke()
    canvas.stamp(32, 32, Brush(radius=4, strength=0.1))  # weaker ink over ink
    assert canvas.end_stroke() is None
    np.testing.assert_array_equal(canvas.codes, painted)
    assert canvas.redo() == (192, 192, 256, 256)  # no-op strokes left the redo step alone
    assert canvas.undo() is not None
    assert canvas.undo() is not None
    assert canvas.undo() is None  # and made no undo steps
    assert not canvas.codes.any()


def test_history_memory_is_capped_dropping_the_oldest_steps_but_never_the_newest():
    canvas = _canvas((512, 512), history_bytes=5 * TILE_BYTES)
    for x in (32, 160, 288, 416):  # four strokes of two tiles each
        canvas.begin_stroke()
        canvas.stamp(32, x, Brush(radius=8))
        canvas.stamp(96, x, Brush(radius=8))
        canvas.end_stroke()
    assert canvas.history_nbytes == 4 * TILE_BYTES  # the two newest strokes
    canvas.undo()
    canvas.undo()
    assert canvas.undo() is None
    assert canvas.codes[32, 160]  # the older strokes stay painted
    assert not canvas.codes[32, 288]
    canvas.redo()
    canvas.redo()

    whole = canvas.accept_box((0, 0, 512, 512), np.full((512, 512), 50, np.uint16))
    assert whole == (0, 0, 512, 512)
    assert canvas.history_nbytes == 64 * TILE_BYTES  # over the cap, yet undoable
    assert canvas.undo() == whole
    assert canvas.codes[32, 416]
    assert not canvas.codes[200, 200]
    assert canvas.undo() is None


def test_undo_and_redo_wait_while_a_stroke_is_open():
    canvas = _canvas()
    canvas.stamp(40, 40, Brush(radius=6))
    first = canvas.codes.copy()
    canvas.stamp(200, 200, Brush(radius=6))
    canvas.undo()  # something to redo

    canvas.begin_stroke()  # the mouse is down, mid-drag
    canvas.stamp(120, 40, Brush(radius=6))
    canvas.stamp(120, 60, Brush(radius=6))
    mid_stroke = canvas.codes.copy()
    assert canvas.undo() is None
    assert canvas.redo() is None
    np.testing.assert_array_equal(canvas.codes, mid_stroke)
    canvas.stamp(120, 80, Brush(radius=6))
    assert canvas.end_stroke() is not None

    assert canvas.redo() is None  # the new stroke dropped the redo step
    assert canvas.undo() is not None
    np.testing.assert_array_equal(canvas.codes, first)
    assert canvas.undo() is not None
    assert not canvas.codes.any()


def test_an_ink_strokes_faintest_rim_is_left_unlabelled_not_made_no_ink():
    canvas = _canvas()
    brush = Brush()  # the dock's default: radius 20, hardness 0.5, a rim fading to 0
    canvas.stamp(128, 128, brush)
    faint = (brush.stamp_values() > 0) & (np.round(brush.stamp_values() * 255) == 0)
    assert faint.any()  # the rim the stamp touches at a strength that rounds to 0
    assert not (canvas.codes == NO_INK).any()  # no explicit "no ink" from an ink stroke
    size = faint.shape[0] // 2
    stamped = canvas.supervised[128 - size : 129 + size, 128 - size : 129 + size]
    assert not stamped[faint].any()  # left unlabelled


def test_accepting_fills_unlabelled_pixels_only_and_counts_the_labels_it_kept():
    canvas = _canvas()
    canvas.stamp(100, 60, Brush(radius=8, hardness=1.0))  # the user's full ink
    canvas.stamp(100, 160, Brush(radius=8, hardness=1.0, mode="no_ink"))  # and a correction
    painted = canvas.codes.copy()
    prediction = _prediction(code=NO_INK)  # the model says "no ink" everywhere
    canvas.begin_stroke()
    for x in range(40, 200, 3):
        canvas.stamp(100, x, Brush(radius=12, mode="accept"), prediction)
    assert canvas.end_stroke() is not None
    labelled = painted > 0
    np.testing.assert_array_equal(canvas.codes[labelled], painted[labelled])  # kept
    filled = canvas.supervised & ~labelled
    assert (canvas.codes[filled] == NO_INK).all()
    assert canvas.accepted_pixels == filled.sum()

    assert canvas.accept_box((95, 55, 106, 166), prediction) is None  # all labelled now
    assert canvas.kept_labels == 11 * 111
    canvas.accept_box((0, 0, 10, 10), prediction)
    assert canvas.kept_labels == 0


def test_a_weaker_ink_stroke_counts_the_stronger_labels_it_kept():
    canvas = _canvas()
    canvas.stamp(32, 32, Brush(radius=8, hardness=1.0))
    canvas.stamp(32, 32, Brush(radius=4, hardness=1.0, strength=0.3))  # changed nothing
    assert canvas.kept_labels == (footprint(4, 1.0) > 0).sum()
    canvas.stamp(32, 100, Brush(radius=4, strength=0.3))  # on unlabelled pixels
    assert canvas.kept_labels == 0
