"""What a person does in the viewer, done through napari's real events; and what it said."""

from __future__ import annotations

import numpy as np
from napari.utils.notifications import notification_manager
from vispy.app.canvas import MouseEvent

from inkloop._napari._private import _unproxied

# the loop tests' segment: ink 3x the default contrast, learnable by a tiny model in seconds
LOOP_SHAPE, LOOP_SEED, LOOP_CONTRAST = (12, 192, 256), 11, 0.3


def drag(viewer, points, qtbot):
    """A left-button drag through data points (y, x), through the real canvas events.

    napari throttles mouse moves (5 ms), so each move is awaited until the viewer's cursor
    reached it, as a real mouse would deliver them.
    """
    view = canvas(viewer).view  # maps world (x, y) to canvas pixels
    scene_canvas = view.canvas
    positions = [
        tuple(np.rint(view.scene.transform.map((x, y))[:2]).astype(int)) for y, x in points
    ]
    scene_canvas.events.mouse_press(pos=positions[0], button=1, modifiers=())
    pressed = MouseEvent(type="mouse_press", pos=positions[0], button=1)
    for (y, x), position in zip(points[1:], positions[1:], strict=True):
        scene_canvas.events.mouse_move(pos=position, button=1, modifiers=(), press_event=pressed)
        qtbot.waitUntil(lambda y=y, x=x: _cursor_near(viewer, y, x), timeout=2000)
    scene_canvas.events.mouse_release(pos=positions[-1], button=1, modifiers=())


def _cursor_near(viewer, y, x) -> bool:
    return np.allclose(viewer.cursor.position[-2:], (y, x), atol=1)


def press(viewer, key: str) -> None:
    handler = canvas(viewer)._key_map_handler
    handler.press_key(key)
    handler.release_key(key)


def canvas(viewer):
    """The viewer's vispy canvas, where a person's mouse and keys arrive. napari 0.9 has no
    public route to it (napari#4947): `Window.qt_viewer` warns that it goes, `_qt_viewer` is
    private; this is where these helpers reach it, past the proxy a dock's viewer is (napari
    0.10 drops private access through it)."""
    return _unproxied(viewer).window._qt_viewer.canvas


def messages(since: int) -> list[str]:
    """The notifications napari showed since the ``since``-th."""
    return [record.message for record in notification_manager.records[since:]]


def paint_left_half(widget, viewer, qtbot, truth) -> None:
    """Label the loop segment's left half: no ink over it with a wide brush, then ink on
    the glyphs there."""
    ink, _ = truth
    painter = widget.labels.painter
    painter.set_brush(mode="no_ink", radius=16, hardness=1.0)
    for y in range(8, LOOP_SHAPE[1], 24):
        drag(viewer, [(y, 0), (y, LOOP_SHAPE[2] // 4), (y, LOOP_SHAPE[2] // 2)], qtbot)
    painter.set_brush(mode="ink", radius=1.5, hardness=1.0, strength=1.0)
    for y, x in np.argwhere(ink[:, : LOOP_SHAPE[2] // 2])[::2]:
        painter.stamp_along([(y, x)])
