"""Soft labels painted in a real viewer: mouse strokes, keys, undo, overlay refresh, label
files saved and loaded."""

from __future__ import annotations

import numpy as np
from napari.utils.notifications import notification_manager
from PIL import Image

from inkloop.brush import decode_labels
from tests._napari._gui import canvas, drag, messages, press


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
    texture = canvas(viewer).layer_to_visual[layer].node._data
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


def _load(widget, path, qtbot) -> None:
    """Load labels… with ``path``, waited for: the file is read off the GUI thread."""
    with qtbot.waitSignal(widget.brush_panel.start_loading(str(path)).finished):
        pass


def test_bad_label_files_get_one_message_and_leave_the_labels_untouched(painting, tmp_path, qtbot):
    viewer, widget = painting
    drag(viewer, [(100, 100)], qtbot)
    before = viewer.layers["ink labels"].data.copy()
    Image.fromarray(np.zeros((10, 10), np.uint8)).save(tmp_path / "small.png")
    (tmp_path / "broken.png").write_bytes(b"not a png")

    _load(widget, tmp_path / "small.png", qtbot)
    _load(widget, tmp_path / "missing.png", qtbot)
    _load(widget, tmp_path / "broken.png", qtbot)
    np.testing.assert_array_equal(viewer.layers["ink labels"].data, before)

    Image.fromarray(np.full((200, 300), 40, np.uint8)).save(tmp_path / "probability.png")
    shown = len(notification_manager.records)
    _load(widget, tmp_path / "probability.png", qtbot)
    assert messages(shown) == [
        "Ink Loop: "
        f"Labels not loaded: {tmp_path / 'probability.png'}: 100% of the labelled pixels are "
        "grey (soft ink): it looks like a probability map; Guide → Load prediction as "
        "labels… turns one into labels"
    ]
    np.testing.assert_array_equal(viewer.layers["ink labels"].data, before)

    ink = np.zeros((200, 300), np.uint8)
    ink[10:20, 10:20] = 200
    Image.fromarray(ink).save(tmp_path / "good.png")
    _load(widget, tmp_path / "good.png", qtbot)
    assert decode_labels(viewer.layers["ink labels"].data)[0][15, 15] == 200
    widget.brush_panel.undo.click()  # the wrong file, loaded by mistake, costs no stroke
    np.testing.assert_array_equal(viewer.layers["ink labels"].data, before)
