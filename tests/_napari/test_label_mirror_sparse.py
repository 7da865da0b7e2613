"""The label worker's mirror of a labelled segment costs the bands that hold labels, not a second
copy of the codes, and making it waits for nothing on the worker (a dock attaching submits a
job at once)."""

from __future__ import annotations

import os
from concurrent.futures import Future
from pathlib import Path

import numpy as np

from inkloop._napari import _label_worker
from inkloop._napari._label_worker import LabelWorker
from inkloop.brush import Brush
from inkloop.canvas import LabelCanvas
from tests._helpers import linux_only


def _labelled_in_one_corner(height: int, width: int) -> LabelCanvas:
    canvas = LabelCanvas(np.zeros((height, width), np.uint8), np.zeros((height, width), bool))
    canvas.begin_stroke()
    canvas.stamp(40, 60, Brush(radius=10, mode="ink"))
    canvas.end_stroke()
    return canvas


def _resident_bytes() -> int:
    return int(Path("/proc/self/statm").read_text().split()[1]) * os.sysconf("SC_PAGE_SIZE")


@linux_only("the resident memory in /proc/self/statm")
def test_a_mirror_of_a_segment_labelled_in_one_area_touches_only_its_bands(qtbot):
    canvas = _labelled_in_one_corner(4000, 6000)  # codes: 48 MB
    before = _resident_bytes()
    worker = LabelWorker(canvas, blank=False)
    try:
        worker.submit(lambda codes: None).result(timeout=10)  # the mirror made and filled
        grown = _resident_bytes() - before
        mirrored = worker.submit(lambda codes: bool(np.array_equal(codes, canvas.codes)))
        assert mirrored.result(timeout=10)
    finally:
        worker.close()
    assert grown < canvas.codes.nbytes / 4


class _Held:
    """An executor whose jobs run only when the test says (`run_all`)."""

    def __init__(self, *args, **kwargs) -> None:
        self.jobs: list[tuple[Future, object, tuple]] = []

    def submit(self, function, *args) -> Future:
        future = _NotWaitedFor()
        self.jobs.append((future, function, args))
        return future

    def run_all(self) -> None:
        for future, function, args in self.jobs:
            future.set_result(function(*args))

    def shutdown(self, wait: bool) -> None:
        pass


class _NotWaitedFor(Future):
    def result(self, timeout=None):
        assert self.done(), "the GUI thread waited for the label worker"
        return super().result(timeout)


def test_a_job_submitted_on_a_labelled_segment_does_not_wait_for_the_worker(monkeypatch):
    monkeypatch.setattr(_label_worker, "ThreadPoolExecutor", _Held)
    canvas = _labelled_in_one_corner(300, 200)
    worker = LabelWorker(canvas, blank=False)

    asked = worker.submit(np.array)  # as LabelClasses does when the dock attaches

    assert not asked.done()
    worker._executor.run_all()
    np.testing.assert_array_equal(asked.result(), canvas.codes)
