"""Painting only in a 2-D view of the labels' own axes: in 3-D a drag on "ink labels" turns
the camera, as napari's own layers do, and with the dims rolled it pans; neither paints
(real viewer, real canvas mouse events)."""

from __future__ import annotations

import pytest
from qtpy.QtWidgets import QApplication
from vispy.app.canvas import MouseEvent

from inkloop._napari._painter import VIEW_HELP
from inkloop._napari._private import viewer_dims
from inkloop._napari._widget import InkLoopWidget
from tests._napari._gui import canvas, press


@pytest.fixture
def shown_in_dock(make_napari_viewer, monkeypatch, unlabelled_folder):
    """``unlabelled_folder`` in the dock of a viewer on the screen, "ink labels" selected:
    vispy hands a press to the camera only where it picks something drawn there."""
    monkeypatch.setattr(InkLoopWidget, "warm_engine", False)
    viewer = make_napari_viewer(show=True)
    _, widget = viewer.window.add_plugin_dock_widget("napari-inkloop", "Ink Loop")
    widget.open_segment(str(unlabelled_folder), wait=True)
    viewer.layers.selection.active = viewer.layers["ink labels"]
    return viewer, widget


def test_a_drag_in_3d_turns_the_camera_and_paints_nothing_then_paints_back_in_2d(
    shown_in_dock, qtbot
):
    viewer, widget = shown_in_dock
    layer = viewer.layers["ink labels"]
    viewer.dims.ndisplay = 3
    angles = viewer.scene.camera.angles

    press(viewer, "B")  # painting off and on again: still not in 3-D
    press(viewer, "B")
    _drag_across(viewer, qtbot)

    assert not layer.data.any()
    assert viewer.scene.camera.angles != angles
    assert widget.labels.painter.painting  # the dock's choice, kept for the 2-D view
    assert "paints in the 2D view" in viewer.help

    viewer.dims.ndisplay = 2
    _drag_across(viewer, qtbot)
    assert layer.data.any()
    assert viewer.help.startswith("Ink Loop brush")


def test_a_hidden_labels_layer_switched_to_3d_is_not_painted_either(shown_in_dock, qtbot):
    viewer, _ = shown_in_dock
    layer = viewer.layers["ink labels"]
    layer.visible = False  # not sliced anew while hidden
    viewer.dims.ndisplay = 3

    _drag_across(viewer, qtbot)

    assert not layer.data.any()


def test_a_drag_begun_in_2d_paints_no_more_once_the_view_turns_3d(shown_in_dock, qtbot):
    viewer, _ = shown_in_dock
    layer = viewer.layers["ink labels"]
    painted = []

    def turn_3d():
        painted.append(layer.data.copy())
        viewer.dims.ndisplay = 3

    _drag_across(viewer, qtbot, midway=turn_3d)

    assert painted[0].any()  # the 2-D part of the drag painted
    assert (layer.data == painted[0]).all()


def test_a_drag_with_the_dims_rolled_pans_and_paints_nothing_then_paints_rolled_back(
    shown_in_dock, qtbot
):
    """Roll dimensions shows a (layer, y) view: a drag painted at the x of the slider, away
    from the cursor (review R1, finding 4). The third roll shows (y, x) again, and re-slices
    no layer: the painter follows the viewer's dims."""
    viewer, _ = shown_in_dock
    layer = viewer.layers["ink labels"]
    assert viewer_dims(layer) is viewer.dims
    press(viewer, "Control-E")  # napari's Roll dimensions
    QApplication.processEvents()  # drawn, as before a person's press: vispy picks from that
    camera = canvas(viewer).view.camera  # napari's own camera follows it at the next draw
    rect = camera.rect

    _drag_across(viewer, qtbot)

    assert not layer.data.any()
    assert camera.rect != rect  # panned
    assert viewer.help == VIEW_HELP["rolled"]
    press(viewer, "Control-E")  # (x, layer): napari slices the labels as in the (y, x) view
    assert viewer.help == VIEW_HELP["rolled"]
    press(viewer, "Control-E")
    assert viewer.dims.displayed == (1, 2)
    assert viewer.help.startswith("Ink Loop brush")  # before the press: the camera stays
    rect = camera.rect
    _drag_across(viewer, qtbot)
    assert layer.data.any()
    assert camera.rect == rect


def _drag_across(viewer, qtbot, midway=None) -> None:
    """A left-button drag across the middle of the canvas, where the segment is shown;
    ``midway()`` is called after its first move. Each move is awaited until napari, which
    throttles them, moved its cursor: its mouse callbacks have then seen it."""
    scene_canvas = canvas(viewer).view.canvas
    width, height = scene_canvas.size
    pixels = [(width // 2 + dx, height // 2 + dx // 4) for dx in (-60, 0, 60)]
    scene_canvas.events.mouse_press(pos=pixels[0], button=1, buttons=[1], modifiers=())
    pressed = MouseEvent(type="mouse_press", pos=pixels[0], button=1, buttons=[1])
    last = pressed  # napari's 2-D camera pans by the move from the last event
    for pixel in pixels[1:]:
        before = viewer.cursor.position
        last = scene_canvas.events.mouse_move(
            pos=pixel, button=1, buttons=[1], modifiers=(), press_event=pressed, last_event=last
        )
        qtbot.waitUntil(lambda before=before: viewer.cursor.position != before, timeout=2000)
        if midway is not None:
            midway()
            midway = None
    scene_canvas.events.mouse_release(pos=pixels[-1], button=1, buttons=[1], modifiers=())
