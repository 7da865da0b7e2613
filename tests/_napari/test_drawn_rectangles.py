"""Rectangles drawn in the dock (validation region, Accept in rectangle) take the pixels whose
centre lies inside them; napari's pixel i covers i - 0.5..i + 0.5."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest

from inkloop._napari._guide_panel import ACCEPT_LAYER, GuidePanel
from inkloop._napari._rectangle import box_corners, drawn_box

DRAWN = np.array([[10.8, 20.8], [10.8, 40.8], [30.8, 40.8], [30.8, 20.8]])
INSIDE = (11, 21, 31, 41)  # row 10 and column 20 lie wholly outside the drawn rectangle


@pytest.mark.parametrize(
    ("corners", "box"),
    [
        ([[-0.5, -0.5], [9.5, 9.5]], (0, 0, 10, 10)),  # on the pixels' edges
        ([[2.9, 5.9], [3.1, 6.1]], (3, 6, 4, 7)),  # inside one pixel, around its centre
        ([[3.1, 6.1], [3.3, 6.3]], None),  # inside one pixel, missing its centre
        ([[-7.0, 90.2], [4.0, 130.0]], (0, 91, 5, 100)),  # clipped to the image
        ([[-9.0, 0.0], [-1.0, 5.0]], None),  # above it
    ],
)
def test_a_drawn_rectangle_takes_the_pixels_whose_centre_it_holds(corners, box):
    assert drawn_box(corners, (100, 100)) == box
    if box is not None:
        assert drawn_box(box_corners(box), (100, 100)) == box  # a restored box stays put


class _Layers(dict):
    selection = SimpleNamespace(active=None)


def test_accept_in_rectangle_takes_the_pixels_inside_the_rectangle():
    accepted = []
    painter = SimpleNamespace(accept_box=accepted.append)
    # both layers at napari's default placement: world coordinates are their data coordinates
    labels_layer = SimpleNamespace(world_to_data=np.asarray)
    labels = SimpleNamespace(
        segment=SimpleNamespace(shape=(8, 100, 100)), painter=painter, layer=labels_layer
    )
    layers = _Layers({ACCEPT_LAYER: SimpleNamespace(data=[DRAWN], data_to_world=tuple)})
    panel = SimpleNamespace(
        loop=SimpleNamespace(viewer=SimpleNamespace(layers=layers), labels=labels)
    )
    GuidePanel._accept_rectangle(panel, SimpleNamespace(action="added"))
    assert accepted == [INSIDE]
