""" "Label here next": the camera goes to the unlabelled papyrus the model is least sure of."""

from __future__ import annotations

import numpy as np

from inkloop._napari._say import say_info
from inkloop.engine import Failed, Ranked
from inkloop.uncertainty import MIN_UNLABELLED, next_box

RANK_BOX = 256  # pixels per side of a ranked box: a view's worth of papyrus to label
RANK_TILES = 24  # tiles sampled over the whole segment per ranking
NEXT_KEY = "G"
ALL_LABELLED = (
    "{labelled} labelled, so Next has nothing to suggest: Erase labels where you doubt them "
    "for it to rank those, or mark a validation region (Finetune & preview) to score the "
    "model on labels it does not train on"
)


class NextRegion:
    """Asks ``loop``'s engine to rank boxes (in the background, between training steps),
    then moves the camera to the best one not visited yet and previews it. Each visit asks
    for a fresh ranking, as the model keeps learning; one ranking runs at a time."""

    def __init__(self, loop) -> None:
        self.loop = loop
        self.visited: list[tuple[int, int, int, int]] = []
        self.ranked: tuple = ()
        self._request: int | None = None  # the ranking under way
        self._asked_of = 0  # the engine (LoopSession.generation) it was asked of
        self._rank_again = False  # asked for while one ran: its labels are older
        self._rankings = 0  # each samples other tiles
        self._waiting = False  # G was pressed with nothing ranked to go to
        self._closed = False  # its loop let go: a count coming back says nothing
        loop.changed.connect(self._on_event)

    def close(self) -> None:
        self._closed = True
        self.loop.changed.disconnect(self._on_event)

    def go(self) -> tuple[int, int, int, int] | None:
        """Visit the next box (returned), or rank first (None): the user hears when it is
        ready and presses G again; the camera never moves on its own, under a brush."""
        box = next_box(self._still_open(), self.visited)
        if box is None:
            self._waiting = True
            self.rank()
            if self._waiting:  # else the model could not be asked (said)
                say_info("looking for where the model is least sure…")
            return None
        self.visit(box)
        self.rank()
        return box

    def rank(self) -> None:
        if self._request is not None and self._asked_of == self.loop.generation:
            self._rank_again = True
            return
        self._rankings += 1
        self._request = self.loop.rank(self._box_side(), RANK_TILES, seed=self._rankings)
        self._asked_of = self.loop.generation
        self._waiting = self._waiting and self._request is not None  # no Ranked will come

    def visit(self, box: tuple[int, int, int, int]) -> None:
        """Centre the view on ``box``, zoomed to show it at half the view's width or height,
        and preview it."""
        self.visited.append(box)
        y0, x0, y1, x1 = box
        camera = self.loop.camera
        corners = np.asarray(self.loop.labels.layer.corner_pixels, float)[:, -2:]
        in_view = max(float(np.min(corners[1] - corners[0])), 1.0)
        camera.zoom *= in_view / (2 * max(y1 - y0, x1 - x0))
        # the camera is in world coordinates: the labels' pixels may have a scale, moved
        camera.center = self.loop.labels.layer.data_to_world(((y0 + y1) / 2, (x0 + x1) / 2))
        self.loop.preview_view()

    def _box_side(self) -> int:
        """Pixels per side of a ranked box: small segments too get more than one (a quarter
        of the short side)."""
        return min(RANK_BOX, min(self.loop.labels.segment.shape[1:]) // 4)

    def _still_open(self) -> list:
        """The ranked boxes that are still mostly unlabelled (labels change after ranking)."""
        codes = self.loop.labels.painter.canvas.codes
        return [
            (score, (y0, x0, y1, x1))
            for score, (y0, x0, y1, x1) in self.ranked
            if (codes[y0:y1, x0:x1] == 0).mean() >= MIN_UNLABELLED
        ]

    def _on_event(self, event) -> None:
        if self.loop.lost_engine(event):
            self._request = None  # a dead engine answers for no ranking
            self._waiting = self._rank_again = False
        if not isinstance(event, (Failed, Ranked)) or event.request != self._request:
            return
        self._request = None
        if isinstance(event, Failed):  # the error says why; the next press asks again
            self._waiting = self._rank_again = False
            return
        self.ranked = event.boxes
        if self._rank_again:
            self._rank_again = False
            self.rank()
        if self._waiting:
            self._waiting = False
            if next_box(self._still_open(), self.visited) is None:
                labels = self.loop.labels  # why not is told once the papyrus left is counted
                mask = labels.segment.mask
                labels.worker.submit(lambda codes: unlabelled_papyrus(codes, mask), self._say_none)
            else:
                say_info(f"found where to label next: press {NEXT_KEY} to go there")

    def _say_none(self, counting) -> None:
        """No box to go to: say why, from how many papyrus pixels are still unlabelled.
        Fewer than a box needs (`MIN_UNLABELLED` of it) leave nothing to rank, ever."""
        left = counting.result()
        if self._closed:
            return
        if left >= MIN_UNLABELLED * self._box_side() ** 2:
            say_info(
                f"no unlabelled papyrus the model doubts in {RANK_TILES} "
                f"sampled tiles; press {NEXT_KEY} to sample others"
            )
            return
        labelled = f"all but {left:,} papyrus pixels are" if left else "every papyrus pixel is"
        say_info(ALL_LABELLED.format(labelled=labelled))


def unlabelled_papyrus(codes: np.ndarray, mask, rows: int = 1024) -> int:
    """How many pixels of ``mask`` (None: all) ``codes`` leave unlabelled, band by band
    (read off the GUI thread: a lazy mask is decoded here)."""
    papyrus = None if mask is None else np.asarray(mask, bool)
    left = 0
    for y0 in range(0, codes.shape[0], rows):
        open_band = codes[y0 : y0 + rows] == 0
        if papyrus is not None:
            open_band &= papyrus[y0 : y0 + rows]
        left += int(np.count_nonzero(open_band))
    return left
