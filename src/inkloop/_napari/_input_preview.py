"""The "model input" layer: the channels the model reads over the view (a `Composed` event),
each shown on the stack layers it comes from."""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from inkloop._napari._overlay import placement as placement_over

INPUT_LAYER = "model input"


@dataclass(frozen=True)
class Placement:
    """Where a preview's channels sit on the stack: ``order`` of the channels shown (the
    lowest layer first), the layer the first is centred on (``z``), and ``step`` layers
    per channel (the layer's z scale)."""

    order: np.ndarray
    z: float
    step: int

    def layers(self) -> tuple[int, int]:
        """The first and last stack layer at which a channel shows."""
        half = (self.step - 1) / 2
        last = self.z + self.step * (len(self.order) - 1)
        return round(self.z - half), round(last + half)


def channel_layers(names) -> list[tuple[int, int]]:
    """The lowest and highest stack layer each channel comes from, read off its name
    ("layer 24", "mean 22-24", "|L25-L24|": `inkloop.engine._jobs.channel_names`)."""
    spans = []
    for name in names:
        numbers = [int(number) for number in re.findall(r"\d+", name)]
        spans.append((min(numbers), max(numbers)))
    return spans


def place(names) -> Placement:
    """Each channel on the stack layers it comes from, read back to front too.

    Raw layers sit on their own layers and means over the layers they average (a z scale
    of the means' width). A difference |L[a+1] - L[a]| comes from two layers: it sits on
    the lower one. raw+diff has two channels for most layers, so not all can sit on theirs:
    the raw layers do, and the differences follow above the window, in order (the layer's
    metadata names every channel).
    """
    spans = channel_layers(names)
    lows = np.array([low for low, _ in spans])
    widths = np.array([high - low + 1 for low, high in spans])
    order = np.lexsort((lows, widths))  # the narrowest channels first, each kind bottom up
    steps = np.diff(lows[order])
    even = steps.size == 0 or ((steps > 0).all() and len(set(steps)) == 1)
    if len(set(widths)) == 1 and even:
        step = int(steps[0]) if steps.size else int(widths[0])
        return Placement(order, lows[order[0]] + (step - 1) / 2, step)
    return Placement(order, float(lows[order[0]]), 1)


def show_model_input(viewer, event, below) -> None:
    """Show ``event``'s channels as the "model input" layer, under the layer ``below``, and
    move the viewer's layer slider into them if it is elsewhere."""
    placement = place(event.names)
    channels = event.channels[placement.order]
    over = placement_over(below, event.region[:2])  # at the labels' scale, if given one
    where = {
        "translate": (placement.z, *over["translate"]),
        "scale": (placement.step, *over["scale"]),
    }
    if INPUT_LAYER in viewer.layers:
        layer = viewer.layers[INPUT_LAYER]
        layer.data, layer.translate, layer.scale = channels, where["translate"], where["scale"]
        layer.reset_contrast_limits()
    else:
        layers, active = viewer.layers, viewer.layers.selection.active
        layer = viewer.add_image(channels, name=INPUT_LAYER, **where)
        layers.move(layers.index(layer), layers.index(below))
        layers.selection.active = active  # the brush keeps painting
    layer.metadata["channels"] = [event.names[index] for index in placement.order]
    _slide_into(viewer, placement.layers())


def _slide_into(viewer, layers: tuple[int, int]) -> None:
    """Move the viewer's layer slider to the nearest of ``layers`` (first, last) if it is
    outside them: the input shows at once."""
    axis = viewer.dims.ndim - 3  # the stack's layer axis
    if axis < 0:
        return
    point = viewer.dims.point[axis]
    first, last = layers
    if not first <= point <= last:
        viewer.dims.set_point(axis, float(np.clip(point, first, last)))
