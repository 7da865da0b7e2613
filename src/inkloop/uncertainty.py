"""Where the model is unsure, and which boxes a labeller should label next (Qt-free).

Uncertainty is 4 p (1 - p): 1 where the model says 0.5, 0 where it is sure either way. It is
chosen over the disagreement of the eight TTA views because it comes free with every
prediction already made (previews and ranking pay one forward pass per tile, not eight, and
nothing extra crosses the engine's pipe); the cost is that a confidently wrong model looks
sure, which the user's corrections then fix.
"""

from __future__ import annotations

import numpy as np

MIN_UNLABELLED = 0.5  # share of a box that must be unlabelled papyrus for it to be ranked
MAY_COVER = 0.25  # share of a box a visited one may cover and it is still offered


def uncertainty(probability: np.ndarray) -> np.ndarray:
    """4 p (1 - p) as uint8 0..255 (255: p = 0.5)."""
    p = np.asarray(probability, np.float32)
    return np.rint(4 * p * (1 - p) * 255).astype(np.uint8)


def rank_boxes(probability, corner, open_area, box: int) -> list[tuple[float, tuple]]:
    """(score, (y0, x0, y1, x1)) of each ``box``² box of a predicted tile whose corner is at
    ``corner`` = (y, x): the mean uncertainty over its open pixels (``open_area``: unlabelled
    papyrus, tile-sized bool). Boxes that are mostly labelled, off papyrus or off the image
    (open_area False there) are left out."""
    p = np.asarray(probability, np.float32)
    return box_means(4 * p * (1 - p), corner, open_area, box)


def box_means(values, corner, open_area, box: int, stride: int | None = None) -> list:
    """(mean of ``values`` over the box's ``open_area`` pixels, (y0, x0, y1, x1)) of each
    ``box``² box every ``stride`` pixels (default: ``box``) of a tile whose corner is at
    ``corner``; boxes less than half open are left out."""
    y, x = corner
    stride = stride or box
    means = []
    for top in range(0, values.shape[0] - box + 1, stride):
        for left in range(0, values.shape[1] - box + 1, stride):
            where = open_area[top : top + box, left : left + box]
            if where.mean() < MIN_UNLABELLED:
                continue
            mean = float(values[top : top + box, left : left + box][where].mean())
            means.append((mean, (y + top, x + left, y + top + box, x + left + box)))
    return means


def covered_share(box: tuple, by: tuple) -> float:
    """The share of ``box`` (y0, x0, y1, x1) that box ``by`` covers."""
    rows = max(0, min(box[2], by[2]) - max(box[0], by[0]))
    cols = max(0, min(box[3], by[3]) - max(box[1], by[1]))
    return rows * cols / max((box[2] - box[0]) * (box[3] - box[1]), 1)


def next_box(ranked, visited, may_cover: float = MAY_COVER) -> tuple | None:
    """The most uncertain box of ``ranked`` (best first) of which no ``visited`` box covers
    more than ``may_cover``: one shown already is not offered again, its neighbours are
    (0: none may overlap, as boxes labelled in one round must not)."""
    for _score, box in ranked:
        if all(covered_share(box, seen) <= may_cover for seen in visited):
            return tuple(box)
    return None
