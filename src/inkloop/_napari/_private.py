"""The one place that uses napari's private API: partial redraws and the Labels controls.

napari's public `Layer.refresh()` re-slices a layer and uploads its whole texture: for an
8k x 8k prediction overlay that is 64 MB (tens of milliseconds) for every tile that arrives,
so the redraws here upload only a changed box: into each tile's texture when napari splits
an image larger than ``GL_MAX_TEXTURE_SIZE`` into tiles, and strided into the texture when
napari downsamples such a Labels layer. They fall back to a whole refresh whenever the layer
is not shown the way they expect (not sliced yet, 3-D, axes transposed, tiled or downsampled
textures whose shapes do not follow napari's rules, Labels contours on a downsampled
texture). napari offers no public way to change one layer's controls either, nor to tell
whether a layer is shown in a 3-D view, nor which viewer holds a layer, nor that a viewer
is closing or quitting.
``tests/_napari/test_private.py`` fails loudly if a napari release changes what this relies
on (the suite runs napari 0.9; pyproject keeps napari below 0.10).
"""

from __future__ import annotations

import numpy as np
from napari._vispy.layers.tiled_image import TiledImageNode, make_tiles
from napari._vispy.utils.gl import fix_data_dtype
from qtpy.compat import isalive
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
    duplicate inkloop's tile undo; so this is that method's refresh half on its own. Where
    napari downsampled the texture, napari's partial update would refresh it whole; this
    uploads the texels of the box instead.
    """
    y0, x0, y1, x1 = box
    layer = _unproxied(layer)
    where = (slice(y0, y1), slice(x0, x1))
    view = layer._slice.image.view
    if not _laid_out_as_data(layer, view):  # not sliced yet, not 2-D, or transposed
        layer.refresh()
        return
    # napari shows uint16 codes as they are: its view then is layer.data itself, changed
    # already (writing into it through any other layout would write the labels)
    if not np.may_share_memory(view, layer.data):
        view[where] = layer.colormap._data_to_texture(layer.data[where])
    downsampled = _downsampled_labels(layer)
    if downsampled is None:
        layer._accumulate_updated_slice(where)
        layer._partial_labels_refresh()
        return
    node, (step_y, step_x) = downsampled
    # napari's texture holds view[::step_y, ::step_x]: the texels whose pixel lies in the box
    row, col = -(-y0 // step_y), -(-x0 // step_x)
    patch = view[row * step_y : y1 : step_y, col * step_x : x1 : step_x]
    if patch.size:
        patch = np.ascontiguousarray(fix_data_dtype(patch))
        node._texture.scale_and_set_data(patch, offset=(row, col), copy=False)
        node.update()


def _laid_out_as_data(layer, shown: np.ndarray) -> bool:
    """Whether ``shown``, a 2-D layer's sliced array, holds each pixel where ``layer.data``
    does: the same shape, its displayed axes in data order. napari's Transpose swaps them,
    and a square layer's slice is then ``data.T``: the same shape, every box mirrored."""
    displayed = list(layer._slice_input.displayed)
    return shown.shape == layer.data.shape and displayed == sorted(displayed)


def _downsampled_labels(layer):
    """(node, steps) when napari shows the 2-D ``layer`` through a texture downsampled by
    ``steps`` (its rule in `VispyScalarFieldBaseLayer.downsample_texture`: every step-th
    pixel, tile2data scaled by the steps), or None when napari's partial update applies."""
    if layer._slice_input.ndisplay != 2 or layer.contour > 0:  # contours: napari's own path
        return None
    node = getattr(_labels_visual(layer), "node", None)
    texture = getattr(node, "_texture", None)
    if texture is None:
        return None
    scale = layer._transforms["tile2data"].scale
    steps = tuple(int(scale[axis]) for axis in layer._slice_input.displayed)
    expected = tuple(-(-size // step) for size, step in zip(layer.data.shape, steps, strict=True))
    if steps == (1, 1) or tuple(texture.shape[:2]) != expected:
        return None
    return node, steps


def _labels_visual(layer):
    """napari's vispy layer that draws ``layer``, found without the viewer: it is the owner of
    the method napari connects to the layer's partial updates."""
    for callback in layer.events.labels_update.callbacks:
        if isinstance(callback, tuple) and callback[1] == "_on_partial_labels_update":
            return callback[0]()
    return None


def show_image_box(viewer, layer, box: tuple[int, int, int, int]) -> bool:
    """Upload the changed ``box`` of a 2-D Image layer's data to its texture, or to the
    textures of the tiles it intersects where napari tiles an image too large for one.

    The layer's data was changed in place; returns False (after a whole refresh) when the
    textures are not a plain full-size copy of that data.
    """
    y0, x0, y1, x1 = box
    viewer, layer = _unproxied(viewer), _unproxied(layer)
    visual = viewer.window._qt_viewer.layer_to_visual.get(layer)
    node = getattr(visual, "node", None)
    shown = layer._slice.image.raw
    textures = _image_textures(node, layer.data.shape)
    if (
        textures is None
        or not _laid_out_as_data(layer, shown)
        or not np.may_share_memory(shown, layer.data)  # the slice is a view of the data
    ):
        layer.refresh()
        return False
    for texture, (top, left) in textures:
        height, width = texture.shape[:2]
        rows = slice(max(y0, top), min(y1, top + height))
        cols = slice(max(x0, left), min(x1, left + width))
        if rows.start < rows.stop and cols.start < cols.stop:
            patch = np.ascontiguousarray(layer.data[rows, cols])
            offset = (rows.start - top, cols.start - left)
            texture.scale_and_set_data(patch, offset=offset, copy=False)
    node.update()
    return True


def _image_textures(node, shape):
    """The textures that show a 2-D image of ``shape``, each with its (row, column) offset:
    one for an image node, one per tile of napari's TiledImageNode; None when they do not
    cover the image texel for texel."""
    if isinstance(node, TiledImageNode):
        textures = [getattr(child, "_texture", None) for child in node.adopted_children]
        offsets = [(y, x) for x, y in node.offsets]  # vispy's offsets are (x, y)
        tiles = make_tiles(np.broadcast_to(np.uint8(0), shape), node.tile_size)
        expected = [((y, x), tile.shape[:2]) for (x, y), tile in tiles]
    else:
        textures, offsets = [getattr(node, "_texture", None)], [(0, 0)]
        expected = [((0, 0), tuple(shape[:2]))]
    if any(texture is None for texture in textures):
        return None
    found = [(offset, tuple(t.shape[:2])) for offset, t in zip(offsets, textures, strict=True)]
    return list(zip(textures, offsets, strict=True)) if found == expected else None


def shown_in_3d(layer) -> bool:
    """Whether the viewer shows ``layer`` in a 3-D view, from its slice input (a mouse
    event's ``dims_displayed`` says so too, but only once a drag has begun: too late for
    the camera to take it)."""
    return _unproxied(layer)._slice_input.ndisplay == 3


def viewer_dims(layer):
    """The dims of the viewer that holds ``layer``, None outside one. A layer has no way to
    its viewer, and its own slice input cannot tell a rolled view from a transposed one;
    the viewer follows each of its layers' ``mouse_pan`` (`ViewerModel._on_add_layer`)."""
    for callback in _unproxied(layer).events.mouse_pan.callbacks:
        if isinstance(callback, tuple) and callback[1] == "_update_mouse_pan":
            viewer = callback[0]()
            return None if viewer is None else viewer.dims
    return None


def shown_across(layer, dims) -> bool:
    """Whether the 2-D view of ``dims`` (`viewer_dims`) shows world axes that are not
    ``layer``'s own: napari's Roll dimensions (Ctrl+E) puts a stack's layer axis on screen,
    napari then draws a 2-D layer misregistered, and a mouse event's data point lies at the
    sliders, not under the cursor."""
    if dims is None or dims.ndisplay != 2:
        return False
    own = range(dims.ndim - layer.ndim, dims.ndim)  # a layer's axes are the world's last
    return not set(dims.displayed) <= set(own)


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


def window_alive(viewer) -> bool:
    """False once ``viewer``'s window is closed and deleted (its X in a process that lives on,
    as in Jupyter): a tile queued before then would be drawn into a deleted canvas."""
    return isalive(_unproxied(viewer).window._qt_viewer)


def viewer_closing(viewer) -> bool:
    """Whether ``viewer.close()`` (Ctrl+Q too) has begun: napari shuts its layer slicer down,
    then removes the layers one by one, and only then closes the window."""
    executor = getattr(getattr(_unproxied(viewer), "_layer_slicer", None), "_executor", None)
    return bool(getattr(executor, "_shutdown", False))


def quitting(window) -> bool:
    """Whether napari's main ``window`` closes to quit the application (Ctrl+Q): napari sets
    this before the close, and closes every other viewer after it."""
    return bool(getattr(window, "_quit_app", False))


def disarm_quit(window) -> None:
    """After a quit was refused: napari would otherwise quit at this window's next close."""
    window._quit_app = False
