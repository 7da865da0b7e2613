"""Ranking boxes for "label here next": a sample of tiles over the whole segment, predicted
one per engine turn between training steps, scored by the model's uncertainty."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from inkloop._image_windows import padded_window, papyrus_corners, sampled_pixels
from inkloop.engine._events import Ranked
from inkloop.uncertainty import rank_boxes


@dataclass
class RankJob:
    """Tiles still to predict for ranking request ``request`` and the boxes scored so far."""

    request: int
    box: int
    corners: list
    ranked: list = field(default_factory=list)

    @classmethod
    def sample(cls, request: int, session, box: int, tiles: int, seed: int) -> RankJob:
        """``tiles`` random tiles centred on papyrus (the whole segment, not just the view)."""
        tile = session.predictor().tile
        rng = np.random.default_rng(seed)
        corners = papyrus_corners(session.segment.shape[1:], session.mask, rng, tiles, tile)
        return cls(request, box, corners)

    def step(self, session) -> Ranked | None:
        """Predict and score the next tile; the Ranked event once the last one is done."""
        predictor = session.predictor()
        corner = self.corners.pop()
        probability = predictor.tiles(session.segment, [corner])[0]
        y, x = corner
        size = probability.shape[0]
        unlabelled = ~padded_window(session.labels.supervised, y, x, size)
        papyrus = sampled_pixels(session.segment.shape[1:], session.mask, y, x, size)
        height, width = session.segment.shape[1:]
        for score, (y0, x0, y1, x1) in rank_boxes(
            probability, corner, unlabelled & papyrus, self.box
        ):
            self.ranked.append((score, (max(y0, 0), max(x0, 0), min(y1, height), min(x1, width))))
        if self.corners:
            return None
        boxes = sorted(self.ranked, key=lambda item: -item[0])
        return Ranked(self.request, tuple(boxes), session.trainer.step_count)
