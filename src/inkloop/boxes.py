"""Boxes (y0, x0, y1, x1) in image pixels, end-exclusive: checking and joining them."""

from __future__ import annotations

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
