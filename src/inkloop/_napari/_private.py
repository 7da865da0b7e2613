"""The one place that uses napari's private API: partial redraws and the Labels controls.

napari's public `Layer.refresh()` re-slices a layer and uploads its whole texture: for an
8k x 8k prediction overlay that is 64 MB (tens of milliseconds) for every tile that arrives,
so the redraws here upload only a changed box. They fall back to a whole refresh whenever
the layer is not shown the way they expect (not sliced yet, 3-D, a tiled or downsampled
texture). napari offers no public way to change one layer's controls either, nor to tell
whether a layer is shown in a 3-D view.
``tests/_napari/test_private.py`` fails loudly if a napari release changes what this relies
on (the suite runs napari 0.9; pyproject keeps napari below 0.10).
"""

from __future__ import annotations

import numpy as np
from qtpy.QtWidgets import QLabel

# napari's Labels tools that write integer labels, not soft ink: hidden for "ink labels"
INTEGER_LABEL_CONTROLS = (
    "_label_control",
    "_brush_size_slider_control",
    "_colormode_combobox_control",
    "_contour_spinbox_control",
    "_ndim_spinbox_control",
    "_contiguous_checkbox_control",
    "_preserve_labels_checkbox_control",
    "_display_selected_label_checkbox_control",
)
INTEGER_LABEL_BUTTONS = (
    "erase_button",
    "paint_button",
    "polygon_button",
    "fill_button",
    "pick_button",
    "colormap_update",
)


def show_labels_box(layer, box: tuple[int, int, int, int]) -> None:
    """Redraw the changed ``box`` of a 2-D Labels layer and nothing else.

    napari's public `Labels.data_setitem` does the same partial texture update but also keeps
    its own undo history of fancy indices (16+ bytes per pixel, unbounded by area), which would
    duplicate inkloop's tile undo; so this is that method's refresh half on its own.
    """
    y0, x0, y1, x1 = box
    layer = _unproxied(layer)
    where = (slice(y0, y1), slice(x0, x1))
    view = layer._slice.image.view
    if view.shape != layer.data.shape:  # not sliced yet or not shown 2-D: nothing to patch
        layer.refresh()
        return
    view[where] = layer.colormap._data_to_texture(layer.data[where])
    layer._accumulate_updated_slice(where)
    layer._partial_labels_refresh()


def show_image_box(viewer, layer, box: tuple[int, int, int, int]) -> bool:
    """Upload the changed ``box`` of a 2-D Image layer's data to its texture.

    The layer's data was changed in place; returns False (after a whole refresh) when the
    texture is not a plain full-size copy of that data.
    """
    y0, x0, y1, x1 = box
    viewer, layer = _unproxied(viewer), _unproxied(layer)
    visual = viewer.window._qt_viewer.layer_to_visual.get(layer)
    node = getattr(visual, "node", None)
    texture = getattr(node, "_texture", None)
    shown = layer._slice.image.raw
    if (
        texture is None
        or shown.shape != layer.data.shape
        or tuple(texture.shape[:2]) != layer.data.shape
        or not np.may_share_memory(shown, layer.data)  # the slice is a view of the data
    ):
        layer.refresh()
        return False
    patch = np.ascontiguousarray(layer.data[y0:y1, x0:x1])
    texture.scale_and_set_data(patch, offset=(y0, x0), copy=False)
    node.update()
    return True


def shown_in_3d(layer) -> bool:
    """Whether the viewer shows ``layer`` in a 3-D view, from its slice input (a mouse
    event's ``dims_displayed`` says so too, but only once a drag has begun: too late for
    the camera to take it)."""
    return _unproxied(layer)._slice_input.ndisplay == 3


def show_soft_label_controls(viewer, layer, hint: str) -> None:
    """In ``layer``'s napari controls, hide the integer-label tools and say how to paint."""
    viewer, layer = _unproxied(viewer), _unproxied(layer)
    controls = viewer.window._qt_viewer.controls.widgets[layer]
    if controls.findChild(QLabel, "soft_labels_hint") is not None:
        return  # done when this layer was painted before
    for name in INTEGER_LABEL_CONTROLS:
        for row in getattr(controls, name).get_widget_controls():
            for widget in row:
                widget.hide()
    for name in INTEGER_LABEL_BUTTONS:
        getattr(controls, name).hide()
    note = QLabel(hint)
    note.setObjectName("soft_labels_hint")
    note.setWordWrap(True)
    controls.layout().addRow(note)


def _unproxied(thing):
    """The napari object behind the public-only proxy napari hands a plugin's widget: its
    private attributes warn through the proxy, and this module is where we use them."""
    return getattr(thing, "__wrapped__", thing)
