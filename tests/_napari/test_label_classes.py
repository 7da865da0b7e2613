"""What the labels teach, cell by cell, for the dock's idle status: read off the GUI thread
when a labelled segment opens (seconds at full size), not read at all on a blank one, and
kept box by box, strokes painted during the read included."""

from __future__ import annotations

import threading
from types import SimpleNamespace

import numpy as np
from qtpy.QtWidgets import QApplication

from inkloop._napari._label_worker import LabelClasses, LabelWorker
from inkloop._napari._loop_panel import READY_TEXT, START_TEXT
from inkloop.brush import Brush
from inkloop.canvas import LabelCanvas
from inkloop.train._labels import class_masks
from tests._napari._fakes import ink_stroke, patch_in_dock


def _class_reads(monkeypatch) -> list[tuple[str, tuple]]:
    """The thread and the shape of every block of labels the dock reads the classes of."""
    reads = []

    def spy(ink, supervised):
        reads.append((threading.current_thread().name, supervised.shape))
        return class_masks(ink, supervised)

    patch_in_dock(monkeypatch, "class_masks", spy)
    return reads


def test_a_blank_segment_s_labels_are_not_read_when_the_dock_opens(
    open_in_dock, unlabelled_folder, qtbot, monkeypatch
):
    reads = _class_reads(monkeypatch)
    _, widget = open_in_dock(unlabelled_folder)
    status = widget.loop_panel.status

    QApplication.processEvents()  # whatever was posted, handled

    assert reads == []
    assert status.text() == START_TEXT
    box = ink_stroke(widget.labels.painter, 40, 40)
    assert reads == [(threading.main_thread().name, (box[2] - box[0], box[3] - box[1]))]


def test_a_labelled_segment_s_labels_are_read_off_the_gui_thread(
    open_in_dock, segment_folder, qtbot, monkeypatch
):
    reads = _class_reads(monkeypatch)
    _, widget = open_in_dock(segment_folder)

    qtbot.waitUntil(lambda: widget.loop_panel.status.text() == READY_TEXT)
    assert reads
    assert threading.main_thread().name not in {thread for thread, _ in reads}


def test_strokes_painted_while_the_labels_are_read_still_count(qtbot):
    canvas = LabelCanvas(np.zeros((256, 256), np.uint8), np.ones((256, 256), bool))  # no ink
    worker = LabelWorker(canvas, blank=False)
    labels = SimpleNamespace(painter=SimpleNamespace(canvas=canvas), blank=False, worker=worker)
    arrived = []
    classes = LabelClasses(labels, lambda: arrived.append(classes.both))  # read: no ink

    box = canvas.stamp(100, 100, Brush(radius=6, hardness=1.0))  # ink, after the read began
    worker.update(box)
    classes.update(box)

    try:
        qtbot.waitUntil(lambda: arrived == [True])
    finally:
        worker.close()


def test_a_stroke_beside_napari_s_own_label_codes_counts_without_an_error():
    """A code napari's tools left (above FULL_INK) is said once when the labels are read; a
    stroke in its cell counts as if it were unlabelled, not a traceback a stroke (closing
    review 2, F5)."""
    canvas = LabelCanvas(np.zeros((256, 256), np.uint8), np.zeros((256, 256), bool))
    canvas.codes[100, 100] = 300
    labels = SimpleNamespace(painter=SimpleNamespace(canvas=canvas), blank=True, worker=None)
    classes = LabelClasses(labels, lambda: None)

    box = canvas.stamp(104, 104, Brush(radius=3, hardness=1.0))
    classes.update(box)

    assert classes.ink.any()
    assert not classes.no_ink.any()  # the 300 is not taken for "no ink" or anything else
