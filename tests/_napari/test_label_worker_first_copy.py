"""The label worker's first copy of a labelled segment's codes is its first job, not made on
napari's GUI thread (seconds for a densely labelled segment at full size, napari frozen as it
opened): every job after it sees the whole mirror, and a stroke painted as it copies reaches
the autosaved labels."""

from __future__ import annotations

import threading

import numpy as np
import pytest
from PIL import Image

from inkloop._napari import _label_worker
from inkloop._napari._label_worker import LabelWorker
from inkloop.brush import decode_labels, encode_labels
from inkloop.canvas import LabelCanvas
from inkloop.io import label_paths, open_segment
from tests._napari._fakes import ink_stroke


def test_the_first_copy_is_made_on_the_worker_and_every_job_after_it_sees_it(qtbot, monkeypatch):
    copied_on, copy = [], _label_worker._catch_up

    def catch_up(mirror, codes):
        copied_on.append(threading.current_thread())
        return copy(mirror, codes)

    monkeypatch.setattr(_label_worker, "_catch_up", catch_up)
    rng = np.random.default_rng(4)  # densely labelled: every band differs from the zeros
    canvas = LabelCanvas.from_codes(
        encode_labels(rng.integers(0, 256, (300, 200)), np.ones((300, 200), bool))
    )

    worker = LabelWorker(canvas, blank=False)
    try:
        mirrored = worker.submit(np.array).result(timeout=10)
    finally:
        worker.close()

    assert [thread.name for thread in copied_on] == ["inkloop-labels_0"]  # not "MainThread"
    np.testing.assert_array_equal(mirrored, canvas.codes)


@pytest.fixture
def held_first_copy(monkeypatch):
    """The worker's first copy waits, before or after copying, for the test to ``go``."""

    class Held:
        def __init__(self) -> None:
            self.where = "before"
            self.copied, self.go = threading.Event(), threading.Event()
            self.first = True

        def __call__(self, mirror, codes):
            first, self.first = self.first, False
            if first and self.where == "before":
                assert self.go.wait(10)
            differed = copy(mirror, codes)
            self.copied.set()
            if first and self.where == "after":
                assert self.go.wait(10)
            return differed

    copy, held = _label_worker._catch_up, Held()
    monkeypatch.setattr(_label_worker, "_catch_up", held)
    yield held
    held.go.set()  # a failing test leaves no worker waiting


@pytest.mark.parametrize("where", ["before", "after"])
def test_a_stroke_painted_as_the_first_copy_is_made_reaches_the_autosave(
    open_in_dock, segment_folder, held_first_copy, where
):
    held_first_copy.where = where
    _, widget = open_in_dock(segment_folder)
    labels = widget.labels
    assert not labels.blank
    if where == "after":  # the stroke's box is then copied after the first copy
        assert held_first_copy.copied.wait(10)

    ink_stroke(labels.painter, 20, 30)
    held_first_copy.go.set()
    labels.autosaver.save_if_changed().result(timeout=10)

    ink, supervised = decode_labels(labels.painter.canvas.codes)
    assert ink[20, 30] == 255
    ink_path, supervision_path = label_paths(open_segment(segment_folder), autosave=True)
    np.testing.assert_array_equal(np.asarray(Image.open(ink_path)), ink)
    np.testing.assert_array_equal(np.asarray(Image.open(supervision_path)) > 0, supervised)
