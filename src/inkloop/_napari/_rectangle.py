"""The pixels a rectangle drawn on a napari Shapes layer takes (validation, accept)."""

from __future__ import annotations

import numpy as np


def drawn_box(corners, shape: tuple[int, int]) -> tuple[int, int, int, int] | None:
    """The box (y0, x0, y1, x1), ends exclusive, of the pixels whose centre lies inside the
    rectangle with ``corners`` (its edges included), clipped to ``shape``; None where it holds
    no pixel's centre. In napari pixel i covers i - 0.5..i + 0.5, so a rectangle drawn on the
    pixels' edges, -0.5..9.5, takes pixels 0..9, and one drawn inside a pixel takes that
    pixel only if it holds its centre, as a brush stamp takes the pixel a click is in."""
    corners = np.asarray(corners, dtype=float)[:, -2:]
    y0, x0 = np.ceil(corners.min(0)).astype(int)
    y1, x1 = np.floor(corners.max(0)).astype(int) + 1
    y0, y1 = np.clip([y0, y1], 0, shape[0])
    x0, x1 = np.clip([x0, x1], 0, shape[1])
    return (int(y0), int(x0), int(y1), int(x1)) if y1 > y0 and x1 > x0 else None


def box_corners(box: tuple[int, int, int, int]) -> np.ndarray:
    """The rectangle on the pixels' edges around ``box`` (y0, x0, y1, x1): `drawn_box` of it
    is ``box`` again."""
    y0, x0, y1, x1 = box
    return np.array([[y0, x0], [y1, x1]], float) - 0.5


def same_place(corners, source, target) -> np.ndarray:
    """``corners``, points in the data coordinates of the layer ``source``, in those of the
    layer ``target``: where the world has them, whatever scale and translate each layer has
    (a rectangle drawn on a Shapes layer, in the pixels of the labels under it)."""
    return np.array([target.world_to_data(source.data_to_world(c)) for c in corners], float)
