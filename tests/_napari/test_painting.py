"""Soft labels painted in a real viewer: mouse strokes, keys, undo, overlay refresh, files."""

from __future__ import annotations

import numpy as np
import pytest
from napari.utils.notifications import notification_manager
from PIL import Image

from inkloop.brush import decode_labels
from inkloop.io import label_paths, open_segment
from inkloop.synthetic import write_segment
from tests._napari._gui import drag, messages, press


@pytest.fixture
def unlabelled_folder(tmp_path):
    return write_segment(tmp_path / "seg", 200, 300, 6, seed=3, truth_as_labels=False)


@pytest.fixture
def painting(open_in_dock, unlabelled_folder):
    return open_in_dock(unlabelled_folder, warm_engine=True)


def test_a_mouse_stroke_paints_soft_ink_redraws_only_its_box_and_undoes(painting, qtbot):
    from inkloop._napari._loop_panel import START_TEXT

    viewer, widget = painting
    assert widget.loop_panel.status.text() == START_TEXT  # no labels yet: paint first
    layer = viewer.layers["ink labels"]
    painter = widget.labels.painter
    painter.set_brush(radius=10, hardness=0.5, strength=0.8)
    updates = []
    layer.events.labels_update.connect(lambda event: updates.append(event.data.shape))

    drag(viewer, [(50, 40), (50, 90), (50, 140)], qtbot)

    ink, supervised = decode_labels(layer.data)
    assert (ink[50, 40:141] == round(0.8 * 255)).all()
    assert supervised[41:60, 40:141].all()
    assert not supervised[:35].any()
    assert 0 < ink[50 + 8, 90] < ink[50, 90]  # the soft edge
    assert len(updates) >= 3
    assert all(rows <= 21 and cols <= 21 + 50 for rows, cols in updates)  # boxes, not the canvas
    texture = viewer.window._qt_viewer.layer_to_visual[layer].node._data
    assert texture[50, 90] != texture[150, 90]  # the painted pixel reached the display
    press(viewer, "Control-Z")
    assert not layer.data.any()
    press(viewer, "Control-Shift-Z")
    np.testing.assert_array_equal(decode_labels(layer.data)[0], ink)


def test_strokes_combine_by_maximum_and_no_ink_and_erase_keys_switch_the_brush(painting, qtbot):
    viewer, widget = painting
    layer = viewer.layers["ink labels"]
    widget.labels.painter.set_brush(radius=6, hardness=1.0, strength=1.0)
    drag(viewer, [(100, 50), (100, 150)], qtbot)
    widget.labels.painter.set_brush(strength=0.3)
    drag(viewer, [(100, 50), (100, 150)], qtbot)
    assert decode_labels(layer.data)[0][100, 100] == 255  # painting over ink never weakens it

    press(viewer, "N")
    assert widget.brush_panel.findChild(object, "no_ink_mode").isChecked()
    drag(viewer, [(100, 90), (100, 110)], qtbot)
    assert layer.data[100, 100] == 1  # supervised, ink 0
    press(viewer, "E")
    drag(viewer, [(100, 40), (100, 160)], qtbot)
    assert not layer.data[90:111, 50:151].any()  # back to unlabelled


def test_fuzzy_levels_from_the_panel_posterize_the_stroke(painting, qtbot):
    viewer, widget = painting
    panel = widget.brush_panel
    panel.levels.setValue(4)
    panel.hardness.setValue(0.0)
    panel.radius.setValue(30)

    drag(viewer, [(100, 150)], qtbot)

    ink, supervised = decode_labels(viewer.layers["ink labels"].data)
    assert widget.labels.painter.brush.levels == 4
    assert set(np.unique(ink[supervised])) == {64, 128, 191, 255}


def test_brush_size_keys_resize_the_cursor_and_b_toggles_painting(painting, qtbot):
    viewer, widget = painting
    layer = viewer.layers["ink labels"]
    widget.brush_panel.radius.setValue(20)
    press(viewer, "]")
    assert widget.labels.painter.brush.radius == 25
    assert widget.brush_panel.radius.value() == 25
    assert layer.cursor == "circle"
    assert layer.cursor_size == 50
    assert not layer.mouse_pan  # left-drag paints
    press(viewer, "B")
    assert layer.mouse_pan
    assert not widget.brush_panel.paint.isChecked()
    drag(viewer, [(100, 100)], qtbot)
    assert not layer.data.any()


def test_save_layer_writes_the_community_files_exactly(painting, tmp_path, qtbot):
    viewer, widget = painting
    widget.labels.painter.set_brush(radius=12, hardness=0.2, strength=0.7)
    drag(viewer, [(60, 60), (120, 200)], qtbot)
    layer = viewer.layers["ink labels"]
    viewer.layers.selection = {layer}

    viewer.layers.save(str(tmp_path / "mine_inklabels.png"), selected=True, plugin="napari-inkloop")

    ink = np.asarray(Image.open(tmp_path / "mine_inklabels.png"))
    supervision = np.asarray(Image.open(tmp_path / "mine_supervision_mask.png"))
    expected_ink, expected_supervised = decode_labels(layer.data)
    np.testing.assert_array_equal(ink, expected_ink)
    np.testing.assert_array_equal(supervision == 255, expected_supervised)


def test_bad_label_files_get_one_message_and_leave_the_labels_untouched(painting, tmp_path, qtbot):
    viewer, widget = painting
    drag(viewer, [(100, 100)], qtbot)
    before = viewer.layers["ink labels"].data.copy()
    Image.fromarray(np.zeros((10, 10), np.uint8)).save(tmp_path / "small.png")
    (tmp_path / "broken.png").write_bytes(b"not a png")

    assert not widget.brush_panel.load_labels(str(tmp_path / "small.png"))
    assert not widget.brush_panel.load_labels(str(tmp_path / "missing.png"))
    assert not widget.brush_panel.load_labels(str(tmp_path / "broken.png"))
    np.testing.assert_array_equal(viewer.layers["ink labels"].data, before)

    Image.fromarray(np.full((200, 300), 40, np.uint8)).save(tmp_path / "probability.png")
    shown = len(notification_manager.records)
    assert not widget.brush_panel.load_labels(str(tmp_path / "probability.png"))
    assert messages(shown) == [
        f"Labels not loaded: {tmp_path / 'probability.png'}: 100% of the labelled pixels are "
        "grey (soft ink): it looks like a probability map; Guide → Load prediction as "
        "labels… turns one into labels"
    ]
    np.testing.assert_array_equal(viewer.layers["ink labels"].data, before)

    ink = np.zeros((200, 300), np.uint8)
    ink[10:20, 10:20] = 200
    Image.fromarray(ink).save(tmp_path / "good.png")
    assert widget.brush_panel.load_labels(str(tmp_path / "good.png"))
    assert decode_labels(viewer.layers["ink labels"].data)[0][15, 15] == 200
    widget.brush_panel.undo.click()  # the wrong file, loaded by mistake, costs no stroke
    np.testing.assert_array_equal(viewer.layers["ink labels"].data, before)


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
    assert messages(shown) == [f"Saved seg_inklabels.png and seg_supervision_mask.png in {folder}"]
    assert not any(path.exists() for path in autosaved)  # its strokes are saved now
    assert writers[-1][1] is False  # the Save: on the autosave's worker, not the GUI thread
    assert {name for name, _ in writers} == {"inkloop-autosave_0"}
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
