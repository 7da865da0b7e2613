""" "Label here next": the camera goes to the unlabelled papyrus the model is least sure of."""

from __future__ import annotations

import numpy as np
from napari.utils.notifications import show_info

from inkloop.engine import Failed, Ranked
from inkloop.uncertainty import MIN_UNLABELLED, next_box

RANK_BOX = 256  # pixels per side of a ranked box: a view's worth of papyrus to label
RANK_TILES = 24  # tiles sampled over the whole segment per ranking


class NextRegion:
    """Asks ``loop``'s engine to rank boxes (in the background, between training steps),
    then moves the camera to the best one not visited yet and previews it. Each visit asks
    for a fresh ranking, as the model keeps learning."""

    def __init__(self, loop) -> None:
        self.loop = loop
        self.visited: list[tuple[int, int, int, int]] = []
        self.ranked: tuple = ()
        self._request: int | None = None
        self._go_when_ranked = False
        loop.changed.connect(self._on_event)

    def close(self) -> None:
        self.loop.changed.disconnect(self._on_event)

    def go(self) -> tuple[int, int, int, int] | None:
        """Visit the next box (returned), or rank first and visit once ranked (None)."""
        box = next_box(self._still_open(), self.visited)
        if box is None:
            self._go_when_ranked = True
            self.rank()
            show_info("Ink Loop: looking for where the model is least sure…")
            return None
        self.visit(box)
        self.rank()
        return box

    def rank(self) -> None:
        # small segments too: a quarter of the short side leaves room for more than one box
        box = min(RANK_BOX, min(self.loop.labels.segment.shape[1:]) // 4)
        self._request = self.loop.rank(box, RANK_TILES, seed=len(self.visited))

    def visit(self, box: tuple[int, int, int, int]) -> None:
        """Centre the view on ``box`` (zooming out if it does not fit) and preview it."""
        self.visited.append(box)
        y0, x0, y1, x1 = box
        camera = self.loop.camera
        corners = np.asarray(self.loop.labels.layer.corner_pixels, float)[:, -2:]
        in_view = max(float(np.min(corners[1] - corners[0])), 1.0)
        if in_view < 2 * max(y1 - y0, x1 - x0):  # show the box with as much around it
            camera.zoom *= in_view / (2 * max(y1 - y0, x1 - x0))
        camera.center = ((y0 + y1) / 2, (x0 + x1) / 2)
        self.loop.preview_view()

    def _still_open(self) -> list:
        """The ranked boxes that are still mostly unlabelled (labels change after ranking)."""
        codes = self.loop.labels.painter.canvas.codes
        return [
            (score, (y0, x0, y1, x1))
            for score, (y0, x0, y1, x1) in self.ranked
            if (codes[y0:y1, x0:x1] == 0).mean() >= MIN_UNLABELLED
        ]

    def _on_event(self, event) -> None:
        if isinstance(event, Failed) and event.request == self._request:
            self._go_when_ranked = False  # the error says why; the next click asks again
        if isinstance(event, Ranked) and event.request == self._request:
            self.ranked = event.boxes
            if self._go_when_ranked:
                self._go_when_ranked = False
                if next_box(self._still_open(), self.visited) is None:
                    show_info("Ink Loop: no unlabelled papyrus left to suggest")
                else:
                    self.go()
