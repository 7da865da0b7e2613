"""The loop's layers of a segment the dock lets go of for another: renamed and hidden, not
lost, and given back when it is painted again."""

from __future__ import annotations

from inkloop._napari._input_preview import INPUT_LAYER
from inkloop._napari._overlay import PREDICTION_LAYER, UNCERTAINTY_LAYER
from inkloop._napari._validation_region import VALIDATION_LAYER

# layers that belong to the segment being worked on, found by name
SEGMENT_LAYERS = (PREDICTION_LAYER, UNCERTAINTY_LAYER, VALIDATION_LAYER, INPUT_LAYER)
RETIRED_KEY = "inkloop_retired"  # layer metadata: (segment path, loop name, was it shown)


def retire_segment_layers(viewer, segment) -> None:
    """Rename and hide the loop's layers of ``segment`` ("ink prediction" -> "<name> ink
    prediction"), in place of those retired at its last switch (one copy each, not napari's
    "[1]", "[2]"...): the next segment's loop makes its own, and nothing of this one is
    drawn over it or read as its validation region."""
    for layer_name in SEGMENT_LAYERS:
        if layer_name not in viewer.layers:
            continue
        layer, owner = viewer.layers[layer_name], str(segment.path)
        for older in _retired(viewer, owner, layer_name):
            if older is not layer:
                viewer.layers.remove(older)
        layer.metadata[RETIRED_KEY] = (owner, layer_name, layer.visible)
        layer.name, layer.visible = f"{segment.name} {layer_name}", False


def restore_segment_layers(viewer, segment, labels) -> None:
    """Give ``segment``'s retired layers their loop names back, shown as they were, and bring
    its loop's layers next to its ``labels`` (the region over them, images under): a switch back
    finds them, and a second copy of the segment (File > Open) buries none."""
    for layer_name in SEGMENT_LAYERS:
        retired = _retired(viewer, str(segment.path), layer_name)
        if retired and layer_name not in viewer.layers:
            layer = retired[-1]
            layer.name, layer.visible = layer_name, layer.metadata.pop(RETIRED_KEY)[2]
        if layer_name in viewer.layers:
            above = layer_name == VALIDATION_LAYER
            viewer.layers.move(viewer.layers.index(layer_name), viewer.layers.index(labels) + above)


def _retired(viewer, owner: str, layer_name: str) -> list:
    """The layers ``layer_name`` of segment ``owner`` (its path) retired, not yet restored."""
    key = (owner, layer_name)
    return [lay for lay in viewer.layers if tuple(lay.metadata.get(RETIRED_KEY, ())[:2]) == key]
