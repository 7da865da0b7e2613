"""Painted strokes are never lost: autosaved and restored, written when the window, the dock
or the script goes away, saved off the GUI thread, and a save under way waited for."""

from __future__ import annotations

import os

import numpy as np
import pytest
from napari.utils.notifications import notification_manager
from PIL import Image

from inkloop.brush import decode_labels
from inkloop.io import label_paths, open_segment
from tests._napari._gui import drag, messages, press


def test_autosave_writes_while_painting_and_is_restored_on_reopening(
    make_napari_viewer, painting, unlabelled_folder, qtbot
):
    viewer, widget = painting
    widget.labels.autosaver.interval_s = 0.05
    autosaved = label_paths(open_segment(unlabelled_folder), autosave=True)[0]

    drag(viewer, [(80, 80), (80, 160)], qtbot)
    qtbot.waitUntil(autosaved.is_file, timeout=5000)
    painted = viewer.layers["ink labels"].data.copy()
    viewer.close()  # as if napari went away: nothing was saved explicitly

    reopened = make_napari_viewer()
    (*_, labels) = reopened.open(str(unlabelled_folder), plugin="napari-inkloop")
    np.testing.assert_array_equal(labels.data, painted)
    assert labels.metadata["inkloop_soft_labels"].startswith("restored autosaved labels")


@pytest.mark.parametrize("closing", ["window", "dock"])
def test_closing_the_window_or_the_dock_writes_the_last_strokes(
    painting, unlabelled_folder, qtbot, closing
):
    viewer, widget = painting
    viewer.show()  # a hidden window's widgets are never hidden again
    qtbot.waitUntil(widget.isVisible)
    widget.labels.autosaver.interval_s = 3600  # only closing can write them
    drag(viewer, [(80, 80), (80, 160)], qtbot)
    ink, supervised = decode_labels(viewer.layers["ink labels"].data)

    if closing == "window":
        viewer.window._qt_window.hide()  # what its X (or quitting) does first
    else:  # the dock's X: napari takes the widget out and never closes it (napari#8071)
        viewer.window.remove_dock_widget(widget)
        assert widget.loop is None  # its loop ended with it
        assert widget.labels is None
        press(viewer, "Control-Z")  # and its keys: the strokes stay as they were written
        np.testing.assert_array_equal(decode_labels(viewer.layers["ink labels"].data)[0], ink)

    ink_path, supervision_path = label_paths(open_segment(unlabelled_folder), autosave=True)
    np.testing.assert_array_equal(np.asarray(Image.open(ink_path)), ink)
    np.testing.assert_array_equal(np.asarray(Image.open(supervision_path)) > 0, supervised)


def test_the_last_strokes_are_written_when_a_script_exits_with_the_viewer_open(
    painting, unlabelled_folder, qtbot, monkeypatch
):
    """The interpreter's exit writes them (nothing hid the dock: they were lost), when
    executors take no more work (a submit raised in hideEvent, and Qt aborted)."""
    from concurrent.futures import thread

    from inkloop._napari._autosave import _flush_at_exit

    viewer, widget = painting
    widget.labels.autosaver.interval_s = 3600  # only the exit can write them
    drag(viewer, [(80, 80), (80, 160)], qtbot)
    ink, _supervised = decode_labels(viewer.layers["ink labels"].data)
    monkeypatch.setattr(thread, "_shutdown", True)  # what the interpreter's exit sets

    _flush_at_exit()

    ink_path, _ = label_paths(open_segment(unlabelled_folder), autosave=True)
    np.testing.assert_array_equal(np.asarray(Image.open(ink_path)), ink)


def test_a_segment_opened_again_while_painting_starts_from_the_last_stroke(
    painting, unlabelled_folder, qtbot
):
    viewer, widget = painting
    widget.labels.autosaver.interval_s = 3600  # the stroke is in no file yet
    drag(viewer, [(80, 80), (80, 160)], qtbot)
    painted = viewer.layers["ink labels"].data.copy()

    (*_, labels) = viewer.open(str(unlabelled_folder), plugin="napari-inkloop")

    np.testing.assert_array_equal(labels.data, painted)
    assert widget.labels.layer is labels  # and the dock paints the new layer


def test_save_labels_writes_off_the_gui_thread_and_removes_the_autosaved_copy(
    painting, unlabelled_folder, qtbot, make_napari_viewer, monkeypatch
):
    import threading

    from inkloop._napari import _autosave

    writers, original = [], _autosave.save_labels

    def save_labels(*args, **kwargs):
        writers.append((threading.current_thread().name, kwargs.get("autosave", False)))
        return original(*args, **kwargs)

    monkeypatch.setattr(_autosave, "save_labels", save_labels)
    viewer, widget = painting
    widget.labels.autosaver.interval_s = 0.05
    autosaved = label_paths(open_segment(unlabelled_folder), autosave=True)
    drag(viewer, [(80, 80), (80, 160)], qtbot)
    qtbot.waitUntil(lambda: all(path.is_file() for path in autosaved), timeout=5000)
    painted = viewer.layers["ink labels"].data.copy()
    shown = len(notification_manager.records)

    widget.brush_panel.save.click()

    qtbot.waitUntil(lambda: bool(messages(shown)), timeout=10_000)
    folder = unlabelled_folder
    saved = f"Ink Loop: Saved seg_inklabels.png and seg_supervision_mask.png in {folder}"
    assert messages(shown) == [saved]
    assert not any(path.exists() for path in autosaved)  # its strokes are saved now
    assert writers[-1][1] is False  # the Save: on the label worker, not the GUI thread
    assert {name for name, _ in writers} == {"inkloop-labels_0"}
    viewer.close()
    reopened = make_napari_viewer()
    shown = len(notification_manager.records)
    (*_, labels) = reopened.open(str(folder), plugin="napari-inkloop")
    np.testing.assert_array_equal(labels.data, painted)
    assert messages(shown) == []


@pytest.fixture
def slow_saves(monkeypatch):
    """Label files that take seconds to write, as a whole segment's do."""
    import threading

    from inkloop._napari import _autosave

    never, original = threading.Event(), _autosave.save_labels

    def slow_save_labels(*args, **kwargs):
        never.wait(2)
        return original(*args, **kwargs)

    monkeypatch.setattr(_autosave, "save_labels", slow_save_labels)


@pytest.mark.usefixtures("slow_saves")
def test_closing_waits_for_a_save_under_way(painting, unlabelled_folder, qtbot):
    viewer, widget = painting
    drag(viewer, [(80, 80), (80, 160)], qtbot)
    ink, _ = decode_labels(viewer.layers["ink labels"].data)
    widget.brush_panel.save.click()

    widget.labels.autosaver.flush()  # as closing the window, or opening the segment again

    saved, _ = label_paths(open_segment(unlabelled_folder))
    np.testing.assert_array_equal(np.asarray(Image.open(saved)), ink)


@pytest.mark.usefixtures("slow_saves")
def test_a_segment_opened_again_during_a_save_opens_what_it_saved(
    painting, unlabelled_folder, qtbot
):
    viewer, widget = painting
    widget.labels.autosaver.interval_s = 3600
    drag(viewer, [(80, 80), (80, 160)], qtbot)
    painted = viewer.layers["ink labels"].data.copy()
    widget.brush_panel.save.click()

    (*_, labels) = viewer.open(str(unlabelled_folder), plugin="napari-inkloop")

    np.testing.assert_array_equal(labels.data, painted)


@pytest.fixture
def full_disk(monkeypatch):
    """The disk fills as Save labels writes the label files; the smaller autosave copies fit."""
    from inkloop.io import _labels

    encode_png = _labels.encode_png

    def encode_png_on_a_full_disk(path, *args, **kwargs):
        if ".autosave." not in str(path):
            raise OSError(28, "No space left on device")
        return encode_png(path, *args, **kwargs)

    monkeypatch.setattr(_labels, "encode_png", encode_png_on_a_full_disk)


@pytest.mark.usefixtures("full_disk")
def test_the_strokes_of_a_failed_save_go_to_the_next_autosave(painting, unlabelled_folder, qtbot):
    viewer, widget = painting
    autosaver = widget.labels.autosaver
    autosaver.interval_s = 3600  # only the tick below writes
    drag(viewer, [(80, 80), (80, 160)], qtbot)
    ink, _ = decode_labels(viewer.layers["ink labels"].data)
    shown = len(notification_manager.records)

    widget.brush_panel.save.click()
    qtbot.waitUntil(lambda: bool(messages(shown)), timeout=10_000)
    disk = next(path for path in unlabelled_folder.parents if os.path.ismount(path))
    assert messages(shown) == [  # a way out that works: Save labels would fail again
        "Ink Loop: Could not save the labels: [Errno 28] No space left on device. Free space "
        f"on {disk}, or save them to another disk with File → Save Selected Layers, type "
        '"Ink Loop Vesuvius ink labels (*.png)"'
    ]
    writing = autosaver.save_if_changed()  # the next autosave tick, the dock still open

    assert writing is not None, "the failed Save's strokes were left out of the autosave"
    writing.result(timeout=10)
    ink_path, _ = label_paths(open_segment(unlabelled_folder), autosave=True)
    np.testing.assert_array_equal(np.asarray(Image.open(ink_path)), ink)


@pytest.mark.usefixtures("full_disk")
def test_a_save_that_fails_as_the_dock_closes_leaves_its_strokes_autosaved(
    painting, unlabelled_folder, qtbot
):
    viewer, widget = painting
    widget.labels.autosaver.interval_s = 3600  # only closing can write them
    drag(viewer, [(80, 80), (80, 160)], qtbot)
    ink, _ = decode_labels(viewer.layers["ink labels"].data)

    widget.brush_panel.save.click()
    viewer.window.remove_dock_widget(widget)  # before the Save's done callback had its turn

    ink_path, _ = label_paths(open_segment(unlabelled_folder), autosave=True)
    np.testing.assert_array_equal(np.asarray(Image.open(ink_path)), ink)
    assert not label_paths(open_segment(unlabelled_folder))[0].exists()
