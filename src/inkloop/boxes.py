"""Boxes (y0, x0, y1, x1) in image pixels, end-exclusive: checking and joining them, and the
box of a view."""

from __future__ import annotations

import numpy as np

Box = tuple[int, int, int, int]


def check_box(box, shape, what: str = "box", image: str = "image") -> Box:
    """``box`` as ints, or a ValueError naming ``what`` (and the ``image``'s size) if it is
    empty or reaches off the ``shape`` = (H, W) image."""
    y0, x0, y1, x1 = (int(v) for v in box)
    if not (0 <= y0 < y1 <= shape[0] and 0 <= x0 < x1 <= shape[1]):
        # written as the command line's Y0:Y1,X0:X1 takes it
        raise ValueError(
            f"{what} {y0}:{y1},{x0}:{x1} (rows, columns) is empty or outside the "
            f"{shape[0]}x{shape[1]} {image}"
        )
    return y0, x0, y1, x1


def union_box(boxes) -> Box:
    """The smallest box holding all ``boxes``."""
    y0, x0, y1, x1 = zip(*boxes, strict=True)
    return min(y0), min(x0), max(y1), max(x1)


def view_box(corners, shape, max_side: int) -> Box:
    """The box of a view whose first and last pixels in the ``shape`` = (H, W) image are
    ``corners`` = ((y0, x0), (y1, x1)) (napari's ``corner_pixels``): at most ``max_side``
    per side around its centre. A view not drawn yet has all its corners at 0 (napari sets
    them at a layer's first draw): then the whole image, as a newly opened segment shows it."""
    height, width = shape
    first, last = np.asarray(corners, float)
    end = last + 1
    if np.all(last == 0):
        first, end = np.zeros(2), np.array([height, width], float)
    centre, size = (first + end) / 2, np.minimum(end - first, max_side)
    (y0, x0), (y1, x1) = np.floor(centre - size / 2), np.ceil(centre + size / 2)
    y0, y1 = np.clip([y0, y1], 0, height).astype(int)
    x0, x1 = np.clip([x0, x1], 0, width).astype(int)
    return int(y0), int(x0), int(max(y1, y0 + 1)), int(max(x1, x0 + 1))
