"""Switching segments leaves the last strokes' write to the label worker: the GUI goes on
(seconds for a whole segment), and nothing is lost (review RE, finding 1)."""

from __future__ import annotations

import errno
import threading

import numpy as np
import pytest
from PIL import Image

from inkloop._napari import _autosave
from inkloop._napari._dock_ends import keep_open
from inkloop._napari._label_claims import _CLAIMED, labels_lock_path
from inkloop.brush import decode_labels
from inkloop.io import label_paths
from inkloop.synthetic import write_segment
from tests._napari._gui import messages
from tests._napari.test_autosave_disk_full import FULL, refusing_folders, rescue_folders


@pytest.fixture
def two_segments(tmp_path):
    return (
        write_segment(tmp_path / "segA", 64, 96, 6, seed=3, truth_as_labels=False),
        write_segment(tmp_path / "segB", 48, 80, 6, seed=4),
    )


@pytest.fixture
def writes(monkeypatch):
    """The autosave writes, as (thread, the labels lock files held then), and a gate each
    waits at while the test holds it closed (``gate.clear()``), as a whole segment's write
    takes seconds; one on the GUI thread gives up waiting after 5 s (the old code)."""
    done, original, gate = [], _autosave.write_label_files, threading.Event()
    gate.set()

    def write_label_files(ink_path, *labels, **kwargs):
        on_gui = threading.current_thread() is threading.main_thread()
        gate.wait(5 if on_gui else None)
        done.append((threading.current_thread().name, set(_CLAIMED)))
        return original(ink_path, *labels, **kwargs)

    monkeypatch.setattr(_autosave, "write_label_files", write_label_files)
    return done, gate


def _paint(widget) -> np.ndarray:
    widget.labels.autosaver.interval_s = 3600  # only the switch writes them
    widget.labels.painter.set_brush(mode="ink", radius=3, hardness=1.0, strength=1.0)
    widget.labels.painter.stamp_along([(20, 30), (20, 60)])
    return widget.labels.layer.data.copy()


def _on_disk(segment) -> np.ndarray:
    ink_path = label_paths(segment, autosave=True)[0]
    return np.asarray(Image.open(ink_path))


def _switched_while_writing(open_in_dock, two_segments, writes):
    """Paint the first segment and open the second while the last write is held at its
    gate: (the first segment, what was painted, the writes done, the gate)."""
    first, second = two_segments
    done, gate = writes
    _, widget = open_in_dock(first)
    segment = widget.labels.segment
    painted = _paint(widget)
    gate.clear()  # the write takes its time
    widget.open_segment(str(second), wait=True)
    assert done == []  # the GUI went on, the write under way
    return segment, painted, done, gate


def test_a_switch_writes_the_last_strokes_on_the_label_worker(
    open_in_dock, two_segments, writes, qtbot
):
    segment, painted, done, gate = _switched_while_writing(open_in_dock, two_segments, writes)
    gate.set()
    qtbot.waitUntil(lambda: len(done) == 1, timeout=5000)
    [(thread, claimed)] = done
    assert thread == "inkloop-labels_0"
    assert labels_lock_path(segment) in claimed  # held until written
    qtbot.waitUntil(lambda: labels_lock_path(segment) not in _CLAIMED, timeout=5000)
    np.testing.assert_array_equal(_on_disk(segment), decode_labels(painted)[0])


def test_a_segment_opened_again_at_once_starts_from_its_last_strokes(
    open_in_dock, make_napari_viewer, two_segments, writes
):
    segment, painted, _, gate = _switched_while_writing(open_in_dock, two_segments, writes)
    gate.set()
    (*_, labels) = make_napari_viewer().open(str(segment.path), plugin="napari-inkloop")

    np.testing.assert_array_equal(labels.data, painted)  # the reader waited for the write
    np.testing.assert_array_equal(_on_disk(segment), decode_labels(painted)[0])


def test_the_dock_back_on_a_segment_at_once_paints_and_saves_it_still(open_in_dock, two_segments):
    first, second = two_segments
    _, widget = open_in_dock(first)
    segment = widget.labels.segment
    painted = _paint(widget)

    widget.open_segment(str(second), wait=True)
    widget.open_segment(str(first), wait=True)  # its layers brought back, the write under way

    np.testing.assert_array_equal(_on_disk(segment), decode_labels(painted)[0])
    assert widget.labels.elsewhere is None  # its own write, not "another window's"
    assert labels_lock_path(segment) in _CLAIMED


def test_strokes_a_full_disk_refuses_at_a_switch_are_kept_and_said(
    open_in_dock, two_segments, tmp_path, monkeypatch, qtbot
):
    first, second = two_segments
    full = refusing_folders(monkeypatch, tmp_path, lambda path: OSError(errno.ENOSPC, FULL))
    _, widget = open_in_dock(first)
    painted = _paint(widget)
    unsaved, _ = rescue_folders(first)
    full.add(first)
    shown = len(messages(0))

    widget.open_segment(str(second), wait=True)

    qtbot.waitUntil(lambda: any("The last strokes" in m for m in messages(shown)), timeout=5000)
    (said,) = [m for m in messages(shown) if "The last strokes" in m]
    assert said.startswith(f"Ink Loop: The last strokes could not be written to {first} (")
    assert f"they are in {unsaved}, and segA opens with them from there" in said
    ink = np.asarray(Image.open(unsaved / "segA_inklabels.autosave.png"))
    np.testing.assert_array_equal(ink, decode_labels(painted)[0])


def test_a_quit_right_after_a_switch_says_strokes_no_folder_took(
    open_in_dock, two_segments, tmp_path, monkeypatch
):
    """The switch's write failed everywhere while the user quit: said before the window
    closes (the quit waits for it), not lost without a word (review C5)."""
    first, second = two_segments
    full = refusing_folders(monkeypatch, tmp_path, lambda path: OSError(errno.ENOSPC, FULL))
    viewer, widget = open_in_dock(first)
    _paint(widget)
    full.update({first, *rescue_folders(first)})
    shown = len(messages(0))

    widget.open_segment(str(second), wait=True)
    keep_open(viewer.window._qt_window, widget.labels)  # Ctrl+Q at once

    said = [m for m in messages(shown) if "The last strokes could not be written" in m]
    assert said, messages(shown)
