"""Painting soft labels with the mouse on the "ink labels" layer: strokes, undo, brush keys."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from functools import partial

import numpy as np
from app_model.types import KeyCode, KeyMod
from psygnal import Signal

from inkloop._napari._keys import CLOSED_HELP, SHORTCUTS, STRENGTH_KEYS, bind_keys, unbind_keys
from inkloop._napari._overlay import NOTHING_TO_ACCEPT, refresh_thumbnail
from inkloop._napari._private import show_labels_box, shown_across, shown_in_3d, viewer_dims
from inkloop._napari._say import say_info, say_warning
from inkloop.boxes import union_box
from inkloop.brush import Brush, PredictionLabels
from inkloop.canvas import LabelCanvas

MAX_RADIUS = 500
UNCHANGED = {  # why a stroke changed nothing, by brush mode (`_say_why_unchanged`)
    "ink": "Ink combines by maximum, so it never lowers stronger labels: paint No ink first",
    "accept": "Accept fills unlabelled pixels only: erase labels first to replace them",
}
INK_AT_ZERO = "Ink at Strength 0 paints nothing: raise Strength"
VIEW_HELP = {  # where a drag does not paint, by the view (`InkPainter._view_now`)
    "3d": "Ink Loop: drag turns the view; the brush paints in the 2D view",
    "rolled": "Ink Loop: drag pans in a rolled view; roll the dims back (Ctrl+E) to paint",
}


class InkPainter:
    """Turns mouse drags on a soft-label layer into `LabelCanvas` strokes.

    The canvas paints into ``layer.data`` in place and each mouse event redraws only the box
    its stamps changed. ``labels_changed`` carries the (y0, x0, y1, x1) box of every finished
    stroke, undo and redo; ``brush_changed`` the new Brush; ``painting_changed`` the on/off state.
    Drags paint only in a 2-D view of the layer's own axes (in 3-D they turn the camera, as
    napari's own do; with the dims rolled they pan) and only while the layer shows (hidden
    or at opacity 0 they pan): no strokes unseen, none away from the cursor.
    """

    labels_changed = Signal(tuple)
    brush_changed = Signal(object)
    painting_changed = Signal(bool)

    def __init__(self, layer, brush: Brush | None = None) -> None:
        self.layer = layer
        self.canvas = LabelCanvas.from_codes(layer.data)
        self.brush = brush or Brush()
        # gives the label codes an accept brush writes, or says why none (`accepted_now`)
        self.accept_from: Callable[[], PredictionLabels] | None = None
        self._accepting: PredictionLabels | None = None  # what this stroke accepts
        self._painting = False
        self._attached, self._why_detached = True, CLOSED_HELP
        self._said = ""  # why the last strokes changed nothing, once said
        self._dims = viewer_dims(layer)  # followed: a roll back to (y, x) re-slices nothing
        self._view = self._view_now()
        layer.editable = False  # napari's integer tools would write invalid label codes
        layer.mouse_drag_callbacks.append(self._drag)
        bind_keys(layer, self._key_actions())
        layer.events.help.connect(self._keep_help)  # napari rewrites it for its own tools
        layer.events.set_data.connect(self._follow_view)  # sliced anew: 2-D <-> 3-D too
        if self._dims is not None:
            self._dims.events.order.connect(self._follow_view)
        for shown in (layer.events.visible, layer.events.opacity):
            shown.connect(self._show_drag)
        self.painting = True

    @property
    def painting(self) -> bool:
        """Whether left-drags paint (True) or pan the view (False); in a 3-D view they turn
        it either way (pan it in a rolled view), and paint again back in 2-D."""
        return self._painting

    @painting.setter
    def painting(self, on: bool) -> None:
        self._painting = bool(on)
        self._show_drag()
        self.painting_changed.emit(self._painting)

    @property
    def _drags_paint(self) -> bool:
        """Whether a left-drag paints now: painting on, the dock open, a 2-D view of the
        layer's own axes, shown."""
        return self._painting and self._attached and not self._view and self._shown

    @property
    def _shown(self) -> bool:
        return self.layer.visible and self.layer.opacity > 0

    def set_brush(self, **changes) -> None:
        """Change brush settings (radius, hardness, strength, levels, mode)."""
        if "radius" in changes:
            changes["radius"] = float(np.clip(changes["radius"], 1, MAX_RADIUS))
        self.brush = dataclasses.replace(self.brush, **changes)
        self._update_cursor()
        self._keep_help()
        self.brush_changed.emit(self.brush)

    def help_text(self) -> str:
        """The status-bar hint while the layer is selected: this brush, not napari's tools.
        Short, to fit a small window's status bar: the keys are listed in the layer controls
        (CONTROLS_HINT)."""
        if not self._attached:
            return self._why_detached
        if self._view:
            return VIEW_HELP[self._view]
        if not self._painting:
            return f"Ink Loop: painting off, drag pans ({SHORTCUTS['paint']} paints)"
        if not self._shown:
            return "Ink Loop: labels hidden (or opacity 0), drag pans; show them to paint"
        mode = self.brush.mode.replace("_", " ")
        return f"Ink Loop brush, {mode}: drag paints (keys: see the layer controls)"

    def undo(self) -> None:
        self._show_change(self.canvas.undo())

    def redo(self) -> None:
        self._show_change(self.canvas.redo())

    def replace(self, codes: np.ndarray) -> None:
        """Load other labels (same shape) in place of all of them, as one undoable stroke."""
        self._show_change(self.canvas.replace(codes))

    def detach(self, why: str = "") -> None:
        """Stop listening to the layer (it stays in the viewer, unpainted further: its keys
        too, or Ctrl+Z there would change labels no autosave writes any more). Its help says
        ``why`` and how to paint again (by default: the dock closed; called again without it,
        as said before); napari's integer tools stay off: they write codes the brush does not."""
        if self._drag in self.layer.mouse_drag_callbacks:
            self.layer.mouse_drag_callbacks.remove(self._drag)
        self.layer.events.help.disconnect(self._keep_help)
        self.layer.events.set_data.disconnect(self._follow_view)
        if self._dims is not None:
            self._dims.events.order.disconnect(self._follow_view)
        for shown in (self.layer.events.visible, self.layer.events.opacity):
            shown.disconnect(self._show_drag)
        unbind_keys(self.layer, self._key_actions())
        self._attached, self._why_detached = False, why or self._why_detached
        self.painting = False

    def stamp_along(self, points) -> tuple[int, int, int, int] | None:
        """Paint one stroke through data points [(y, x), ...], as a drag would."""
        if not self._begin_stroke():
            return None
        previous = None
        for point in points:
            previous = self.paint_to(np.asarray(point, float), previous)
        return self._end_stroke()

    def _drag(self, layer, event):
        self._follow_view()  # a hidden layer is not sliced anew when the view turns 3-D
        if not self._drags_paint or event.button != 1 or not self._begin_stroke():
            return
        previous = self.paint_to(self._data_point(event), None)
        yield
        while event.type == "mouse_move":
            self._follow_view()
            if not self._drags_paint:  # 3-D, rolled or hidden mid-drag: the stroke ends here
                break
            previous = self.paint_to(self._data_point(event), previous)
            yield
        self._end_stroke()

    def _data_point(self, event) -> np.ndarray:
        return np.asarray(self.layer.world_to_data(event.position)[-2:], float)

    def paint_to(self, point: np.ndarray, previous: np.ndarray | None) -> np.ndarray:
        """Stamp from ``previous`` to ``point`` every quarter radius, then redraw once."""
        start = point if previous is None else previous
        count = int(np.linalg.norm(point - start) / max(self.brush.radius / 4, 1)) + 1
        fractions = np.linspace(0, 1, count + 1)[1:] if previous is not None else [1.0]
        stamp, brush, accepted = self.canvas.stamp, self.brush, self._accepting
        boxes = [stamp(*(start + f * (point - start)), brush, accepted) for f in fractions]
        boxes = [box for box in boxes if box is not None]
        if boxes:
            show_labels_box(self.layer, union_box(boxes))
        return point

    def accept_box(self, box, accepted=None) -> tuple[int, int, int, int] | None:
        """Accept the prediction as shown (`accepted_now`), or label codes ``accepted``, into
        the unlabelled pixels of ``box`` (y0, x0, y1, x1) as one undoable stroke."""
        accepted = self.accepted_now() if accepted is None else accepted
        if accepted is None:
            return None
        changed = self.canvas.accept_box(box, accepted)
        self._show_change(changed)
        self._say_why_unchanged(changed, "accept")
        return changed

    def accepted_now(self) -> PredictionLabels | None:
        """The label codes an accept brush writes now: the prediction the user sees; None,
        the user told why, while there is none to see."""
        if self.accept_from is None:
            say_warning(NOTHING_TO_ACCEPT)
            return None
        try:
            return self.accept_from()
        except ValueError as why:
            say_warning(str(why))
            return None

    def _begin_stroke(self) -> bool:
        """Begin a stroke; False when an accept brush has nothing to accept (said)."""
        accepting = self.brush.mode == "accept"
        self._accepting = self.accepted_now() if accepting else None
        if accepting and self._accepting is None:
            return False
        self.canvas.begin_stroke()
        return True

    def _end_stroke(self):
        box = self.canvas.end_stroke()
        if box is not None:
            refresh_thumbnail(self.layer)
            self.labels_changed.emit(box)
        self._say_why_unchanged(box, self.brush.mode)
        return box

    def _say_why_unchanged(self, box, mode: str) -> None:
        """Say once why strokes change nothing: the next Ctrl+Z undoes an earlier one."""
        faint = mode == "ink" and round(self.brush.strength * 255) == 0  # its stamps touch nothing
        kept = UNCHANGED.get(mode, "") if self.canvas.kept_labels else ""
        why = "" if box is not None else INK_AT_ZERO if faint else kept
        if why and why != self._said:
            say_info(why)
        self._said = why

    def _show_change(self, box) -> None:
        if box is not None:
            show_labels_box(self.layer, box)
            refresh_thumbnail(self.layer)
            self.labels_changed.emit(box)

    def _view_now(self) -> str:
        """Where a drag cannot paint, the view: "3d", "rolled" (`VIEW_HELP`); else ""."""
        if shown_in_3d(self.layer):
            return "3d"
        return "rolled" if shown_across(self.layer, self._dims) else ""

    def _follow_view(self, event=None) -> None:
        if self._view != (view := self._view_now()):
            self._view = view
            self._show_drag()

    def _show_drag(self, event=None) -> None:
        """Show what a drag does: the brush's cursor where it paints, else napari's camera."""
        paints = self._drags_paint
        self.layer.mouse_pan = not paints
        self.layer.cursor = "circle" if paints else "standard"
        self._update_cursor()
        self._keep_help()

    def _keep_help(self, event=None) -> None:
        if self.layer.help != (text := self.help_text()):
            self.layer.help = text

    def _update_cursor(self) -> None:
        self.layer.cursor_size = 2 * self.brush.radius

    def _key_actions(self) -> dict:
        strengths = {  # ink at that strength: the strength shapes Ink alone
            key: partial(self.set_brush, mode="ink", strength=value)
            for key, value in STRENGTH_KEYS.items()
        }
        return {
            KeyMod.CtrlCmd | KeyCode.KeyZ: self.undo,
            KeyMod.CtrlCmd | KeyMod.Shift | KeyCode.KeyZ: self.redo,
            KeyCode.KeyB: lambda: setattr(self, "painting", not self.painting),
            KeyCode.KeyI: lambda: self.set_brush(mode="ink"),
            KeyCode.KeyN: lambda: self.set_brush(mode="no_ink"),
            KeyCode.KeyE: lambda: self.set_brush(mode="erase"),
            KeyCode.KeyA: lambda: self.set_brush(mode="accept"),
            KeyCode.BracketLeft: partial(self._resize_brush, 1 / 1.25),
            KeyCode.BracketRight: partial(self._resize_brush, 1.25),
            # napari's label-id keys: its warning at id -1 offers a dtype change that ends
            # the painting; here - and = size the brush as [ and ], M and X do nothing
            KeyCode.Minus: partial(self._resize_brush, 1 / 1.25),
            KeyCode.Equal: partial(self._resize_brush, 1.25),
            KeyCode.KeyM: _nothing,
            KeyCode.KeyX: _nothing,
            KeyCode.Space: self._hold_to_pan,
            **strengths,
        }

    def _resize_brush(self, factor: float) -> None:
        self.set_brush(radius=self.brush.radius * factor)

    def _hold_to_pan(self):
        was_painting = self.painting
        self.painting = False
        yield
        self.painting = was_painting


def _nothing() -> None:
    """A key of napari's that does nothing here."""
