"""The label worker's mirror of the codes: kept equal to the canvas by the box of every change
the painter reports, so that autosaves, rounds and engine starts copy nothing whole on the
GUI thread; a job asked for mid-stroke sees the labels from before the stroke."""

from __future__ import annotations

import contextlib
import threading
import tracemalloc
from types import SimpleNamespace

import numpy as np
import pytest
from PIL import Image

from inkloop._napari._label_worker import LabelWorker
from inkloop.brush import Brush, decode_labels
from inkloop.canvas import LabelCanvas
from inkloop.engine import CheckpointSaved
from inkloop.io import label_paths
from inkloop.rounds import labels_hash
from inkloop.synthetic import write_segment
from tests._napari._fakes import fake_engines, ink_stroke


def _mirror(labels) -> np.ndarray:
    """The worker's mirror as the changes reported so far left it."""
    return labels.worker.submit(np.array).result(timeout=10)


class Drag:
    """A left-button drag on the painter's layer, move by move, as napari delivers it."""

    def __init__(self, painter, y: float, x: float) -> None:
        self.event = SimpleNamespace(button=1, type="mouse_press", position=(y, x))
        self.moves = painter._drag(painter.layer, self.event)
        next(self.moves)

    def to(self, y: float, x: float) -> None:
        self.event.type, self.event.position = "mouse_move", (y, x)
        next(self.moves)

    def release(self) -> None:
        self.event.type = "mouse_release"
        with contextlib.suppress(StopIteration):
            next(self.moves)


def _random_change(painter, rng, shape) -> None:
    """One of the changes a person makes: a drag whose brush changes on the way, undo, redo,
    labels loaded (mid-drag too), a prediction accepted in a box."""
    height, width = shape
    point = lambda: (rng.uniform(-5, height + 5), rng.uniform(-5, width + 5))  # noqa: E731
    kind = rng.choice(["drag", "drag", "drag", "undo", "redo", "load", "accept"])
    if kind in ("undo", "redo"):
        getattr(painter, kind)()
    elif kind == "accept":
        y0, x0 = int(rng.integers(0, height - 8)), int(rng.integers(0, width - 8))
        y1, x1 = (
            min(start + int(rng.integers(1, 40)), end) for start, end in ((y0, height), (x0, width))
        )
        box = (y0, x0, y1, x1)
        painter.accept_box(box, rng.integers(0, 257, shape).astype(np.uint16))
    elif kind == "load":
        painter.replace(np.where(rng.random(shape) < 0.02, 201, 0).astype(np.uint16))
    else:
        modes = ("ink", "no_ink", "erase")
        painter.set_brush(mode=rng.choice(modes), radius=float(rng.uniform(1, 12)))
        drag, start = Drag(painter, *point()), point()
        for _ in range(int(rng.integers(1, 5))):
            painter.set_brush(mode=rng.choice(modes), strength=float(rng.uniform(0.1, 1)))
            drag.to(*start)
            start = point() if rng.random() < 0.5 else start  # back over the same pixels
            if rng.random() < 0.05:
                painter.replace(np.zeros(shape, np.uint16))  # a file loaded mid-drag
        drag.release()


@pytest.mark.parametrize("labelled", [False, True])
def test_the_mirror_equals_the_codes_after_any_changes(
    open_in_dock, segment_folder, unlabelled_folder, labelled
):
    _, widget = open_in_dock(segment_folder if labelled else unlabelled_folder)
    labels, rng = widget.labels, np.random.default_rng(7)
    painter, codes = labels.painter, labels.painter.canvas.codes
    assert labels.blank is not labelled

    for _ in range(40):
        _random_change(painter, rng, codes.shape)
        if rng.random() < 0.1:
            np.testing.assert_array_equal(_mirror(labels), codes)
    np.testing.assert_array_equal(_mirror(labels), codes)


def test_a_mirror_filled_mid_stroke_holds_the_labels_from_before_the_stroke(qtbot):
    canvas = LabelCanvas(np.zeros((128, 128), np.uint8), np.ones((128, 128), bool))  # no ink
    worker = LabelWorker(canvas, blank=False)  # its pages found; no event loop turned yet
    before = canvas.codes.copy()
    canvas.begin_stroke()
    canvas.stamp(64, 64, Brush(radius=8, mode="ink"))

    asked = worker.submit(np.array)  # the mirror is filled now, mid-stroke
    canvas.stamp(64, 64, Brush(radius=8, mode="no_ink"))  # "no ink" again: as before
    assert canvas.end_stroke() is None  # the stroke changed nothing: no box reported

    try:
        np.testing.assert_array_equal(asked.result(timeout=10), before)
        np.testing.assert_array_equal(worker.submit(np.array).result(timeout=10), canvas.codes)
    finally:
        worker.close()


@pytest.fixture
def big_folder(tmp_path):
    """A 4-layer 600 x 800 segment with ink labels: its codes (960 kB) stand out from the
    few kB a job's Future and closures take."""
    return write_segment(tmp_path / "big", 600, 800, 4, seed=2)


@pytest.mark.parametrize("action", ["autosave", "save", "round", "engine start"])
def test_autosaves_rounds_and_engine_starts_copy_no_whole_canvas_on_the_gui_thread(
    open_in_dock, big_folder, qtbot, monkeypatch, action
):
    _, widget = open_in_dock(big_folder)
    labels, loop, keeper = widget.labels, widget.loop, widget.guide_panel.rounds
    made = fake_engines(monkeypatch)
    ink_stroke(labels.painter, 100, 100)
    asked_at = decode_labels(labels.painter.canvas.codes)
    gate = threading.Event()  # the worker waits: only the GUI thread allocates meanwhile
    labels.worker.submit(lambda codes: gate.wait(10))

    tracemalloc.start()
    try:
        if action == "autosave":
            labels.autosaver.save_if_changed()
        elif action == "save":  # it catches up with a script's writes on the worker
            labels.autosaver.save()
        elif action == "round":
            loop.event_received.emit(loop.generation, CheckpointSaved("m.pt", 3, autosave=True))
        else:
            loop.warm_up()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
        gate.set()
    ink_stroke(labels.painter, 300, 300)  # after the ask: not in what it works on

    assert peak < labels.painter.canvas.codes.nbytes / 4
    if action == "autosave":
        ink_path, _ = label_paths(labels.segment, autosave=True)
        qtbot.waitUntil(ink_path.is_file)
        np.testing.assert_array_equal(np.asarray(Image.open(ink_path)), asked_at[0])
    elif action == "save":
        qtbot.waitUntil(label_paths(labels.segment)[0].is_file)
    elif action == "round":
        qtbot.waitUntil(lambda: len(keeper.rounds) == 1)
        assert keeper.rounds[0].labels_hash == labels_hash(*asked_at)
    else:
        qtbot.waitUntil(lambda: loop.engine is not None)
        np.testing.assert_array_equal(made[0].ink, asked_at[0])
        np.testing.assert_array_equal(made[0].supervised, asked_at[1])
