"""Whole-canvas steps (a loaded file, a prediction accepted everywhere): undone and redone
exactly, edge tiles too, and one landing mid-stroke (a file read in the background) keeps
the stroke's stamps as undo steps of their own."""

from __future__ import annotations

import numpy as np
import pytest

from inkloop.brush import Brush, encode_labels
from inkloop.canvas import TILE, LabelCanvas


def _loaded(shape, seed: int = 0) -> np.ndarray:
    """Label codes as a file gives them: blocks of ink, no ink and unlabelled."""
    rng = np.random.default_rng(seed)
    ink = rng.integers(0, 256, shape).astype(np.uint8)
    supervised = np.kron(
        rng.random((shape[0] // 10 + 1, shape[1] // 10 + 1)) < 0.6, np.ones((10, 10))
    )
    return encode_labels(ink, supervised[: shape[0], : shape[1]].astype(bool))


def test_a_whole_canvas_load_with_edge_tiles_undoes_and_redoes_exactly():
    shape = (2 * TILE + 30, 3 * TILE + 7)  # tiles cut by both edges
    canvas = LabelCanvas.from_codes(np.zeros(shape, np.uint16))
    canvas.stamp(shape[0] - 3, shape[1] - 3, Brush(radius=8))  # in the corner tile
    painted = canvas.codes.copy()
    first, second = _loaded(shape, 1), _loaded(shape, 2)

    assert canvas.replace(first) == (0, 0, *shape)
    assert canvas.accept_box((0, 0, *shape), second) is not None
    accepted = canvas.codes.copy()
    assert canvas.undo() is not None
    np.testing.assert_array_equal(canvas.codes, first)
    assert canvas.undo() is not None
    np.testing.assert_array_equal(canvas.codes, painted)
    canvas.redo()
    canvas.redo()
    np.testing.assert_array_equal(canvas.codes, accepted)


@pytest.mark.parametrize("load", ["replace", "accept_box"])
def test_a_load_landing_mid_stroke_leaves_every_step_undoable(load):
    canvas = LabelCanvas.from_codes(np.zeros((256, 256), np.uint16))
    loaded = np.zeros((256, 256), np.uint16)
    loaded[150:200, 150:200] = 201
    canvas.begin_stroke()  # the mouse is down, mid-drag
    canvas.stamp(40, 40, Brush(radius=6))
    before_load = canvas.codes.copy()

    if load == "replace":
        changed = canvas.replace(loaded | before_load)
    else:
        changed = canvas.accept_box((0, 0, 256, 256), loaded)
    assert changed == (0, 0, 256, 256)  # the stroke's stamps so far, and the load
    loaded_now = canvas.codes.copy()
    canvas.stamp(40, 100, Brush(radius=6))
    assert canvas.end_stroke() == (0, 64, 64, 128)  # the rest of the drag
    done = canvas.codes.copy()

    canvas.undo()
    np.testing.assert_array_equal(canvas.codes, loaded_now)
    canvas.undo()
    np.testing.assert_array_equal(canvas.codes, before_load)
    canvas.undo()
    assert not canvas.codes.any()
    assert canvas.accepted_pixels == 0
    for _ in range(3):
        canvas.redo()
    np.testing.assert_array_equal(canvas.codes, done)
    assert canvas.accepted_pixels == (2500 if load == "accept_box" else 0)
