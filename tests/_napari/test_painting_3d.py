"""Painting only in a 2-D view: in 3-D a drag on "ink labels" turns the camera, as napari's
own layers do, and paints nothing (real viewer, real canvas mouse events)."""

from __future__ import annotations

import pytest
from vispy.app.canvas import MouseEvent

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


def _drag_across(viewer, qtbot, midway=None) -> None:
    """A left-button drag across the middle of the canvas, where the segment is shown;
    ``midway()`` is called after its first move. Each move is awaited until napari, which
    throttles them, moved its cursor: its mouse callbacks have then seen it."""
    scene_canvas = canvas(viewer).view.canvas
    width, height = scene_canvas.size
    pixels = [(width // 2 + dx, height // 2 + dx // 4) for dx in (-60, 0, 60)]
    scene_canvas.events.mouse_press(pos=pixels[0], button=1, buttons=[1], modifiers=())
    pressed = MouseEvent(type="mouse_press", pos=pixels[0], button=1, buttons=[1])
    for pixel in pixels[1:]:
        before = viewer.cursor.position
        scene_canvas.events.mouse_move(
            pos=pixel, button=1, buttons=[1], modifiers=(), press_event=pressed
        )
        qtbot.waitUntil(lambda before=before: viewer.cursor.position != before, timeout=2000)
        if midway is not None:
            midway()
            midway = None
    scene_canvas.events.mouse_release(pos=pixels[-1], button=1, buttons=[1], modifiers=())
