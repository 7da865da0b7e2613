"""The layer "<id> prediction" that shows a whole-segment prediction file under the labels,
and lets go of that file before a new prediction replaces it."""

from __future__ import annotations

import gc
from pathlib import Path

from inkloop._napari._overlay import placement
from inkloop._napari._reader import prediction_layer_kwargs
from inkloop.io import prediction_kind

SHOWN_FILE = "inkloop_prediction_file"  # the layer's metadata: the file it shows
# formats whose layer holds its file open while shown (tifffile's handle, or a memory map of an
# uncompressed TIFF), which Windows will not let a new file replace; a PNG is read whole and a
# zarr chunk file by chunk file
HELD_OPEN = ("tif",)


def layer_name(loop) -> str:
    """The name of the layer showing ``loop``'s segment's prediction file."""
    return f"{loop.labels.segment.name} prediction"


def show_prediction_file(loop, path: Path) -> None:
    """Show the prediction file as "<id> prediction" under ``loop``'s labels, in place of
    one there, laid over them and following the threshold like the preview; the brush stays
    selected."""
    viewer, labels = loop.viewer, loop.labels
    layers, active = viewer.layers, viewer.layers.selection.active
    name = layer_name(loop)
    if name in layers:  # replaced, not updated: the new file may be a pyramid, the old not
        layers.remove(name)
    kwargs = prediction_layer_kwargs(path, name)
    origin = kwargs["translate"]  # in label pixels: over the labels, wherever they lie
    kwargs = {**kwargs, **placement(labels.layer, origin), "metadata": {SHOWN_FILE: str(path)}}
    layer = viewer.add_image(**kwargs)
    loop.overlay.keep_over(layer, origin)
    layers.move(layers.index(layer), layers.index(labels.layer))  # labels stay on top
    loop.overlay.follow_threshold(layer)
    layers.selection.active = active  # the brush keeps painting


def shown_file(loop) -> str | None:
    """The file the layer of ``loop``'s segment's prediction shows, or None (no layer)."""
    layers, name = loop.viewer.layers, layer_name(loop)
    return layers[name].metadata.get(SHOWN_FILE) if name in layers else None


def let_go_of(loop, out: Path) -> bool:
    """Remove the layer of ``loop``'s segment's prediction if it shows ``out`` and holds it
    open (a TIFF), and close the file (on Windows a new file cannot replace it while open);
    whether it was removed."""
    layers, name = loop.viewer.layers, layer_name(loop)
    if prediction_kind(out) not in HELD_OPEN or name not in layers:
        return False
    layer = layers[name]
    if layer.metadata.get(SHOWN_FILE) != str(out):
        return False
    layers.remove(layer)
    del layer
    gc.collect()  # the file's reader lives in reference cycles
    return True
