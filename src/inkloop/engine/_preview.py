"""Predictions streamed out of the engine: the standing viewport preview, its time budget and
its interruptions."""

from __future__ import annotations

import logging
import queue
import time
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from inkloop.engine._events import PredictionReady, Validated
from inkloop.predict import Blend, check_region, tile_corners
from inkloop.train import INK_LEVEL

log = logging.getLogger(__name__)


class PreviewSchedule:
    """The standing preview of the viewed region, predicted one tile batch per engine turn.

    A round predicts every tile of the region: a new view's centre tile first, then the tiles
    never shown before (what a pan uncovered), then the rest, each group centre first; a
    stroke in view brings the tiles nearest it forward. A new round starts once the weights
    changed, at most every ``every`` s while training. A round counts as made with the oldest
    weights among its tiles, so one that spanned training steps is followed by another once
    training pauses or stops: the view ends with every tile from the last weights.

    While training runs, the preview spends at most ``share`` of the engine's time: a batch
    that took t seconds is paid back by t·(1 - share)/share seconds of training before the
    next. So training keeps its pace whatever the view's size, and the interval between
    complete refreshes grows with the area instead; only the first tile of a new view skips
    the queue.
    """

    def __init__(self, share: float) -> None:
        if not 0 < share <= 1:
            raise ValueError(f"preview share {share} must be in (0, 1]")
        self.share = share
        self.request: int | None = None
        self.region: tuple[int, int, int, int] | None = None
        self.every = 0.0
        self.debt = 0.0  # seconds of training owed before the next batch
        self.step: int | None = None  # oldest weights of the last complete round; None: none
        self.started = -np.inf  # when the last round began
        self.shown: set[tuple[int, int]] = set()  # corners of the tiles predicted so far
        self.stroke: tuple[int, int, int, int] | None = None  # set by any thread; worker reads
        self._round: _Round | None = None

    def aim(
        self, request: int | None, region: tuple[int, int, int, int] | None, every: float
    ) -> None:
        """Preview ``region`` from now on (None: stop previewing)."""
        self.request, self.region, self.every = request, region, every
        self.step, self.started, self._round, self.stroke = None, -np.inf, None, None

    @property
    def urgent(self) -> bool:
        """Whether the next batch is a new view's first tile: someone is waiting for it."""
        return self.step is None and (self._round is None or self._round.urgent)

    def paid(self, seconds: float) -> None:
        """Training ran for ``seconds``."""
        self.debt = max(0.0, self.debt - seconds)

    def due(self, step: int, training: bool, now: float) -> bool:
        """Whether the next engine turn should predict a preview batch."""
        if self.region is None:
            return False
        if training and self.debt > 0 and not self.urgent:
            return False
        if self._round is not None or self.step is None:
            return True
        if self.step == step:
            return False
        return not training or now >= self.started + self.every

    def next_batch(self, predictor, segment, mask, step: int, training: bool) -> PredictionReady:
        """Predict the next tile batch of the round (starting one if none runs)."""
        began = time.monotonic()
        if self._round is None:
            shape, new_view = segment.shape[1:], self.step is None
            self._round = _Round.plan(self, predictor, shape, mask, new_view, step)
            self.started = began
        round_ = self._round
        if (stroke := self.stroke) is not None and not round_.urgent:
            self.stroke = None
            round_.focus_on(stroke)
        corners = round_.take(1 if round_.urgent else predictor.batch_size)
        if corners:
            box, probability = predictor.add_tiles(round_.blend, segment, corners, mask)
        else:  # no papyrus in view: one all-0 answer
            box, probability = self.region, np.zeros(round_.blend.total.shape, np.float32)
        self.shown.update(corners)
        round_.urgent, round_.done = False, round_.done + len(corners)
        if not round_.corners:
            self._round, self.step = None, round_.step
        if training:
            self.debt += (time.monotonic() - began) * (1 - self.share) / self.share
        return PredictionReady(self.request, box, step, probability, round_.done, round_.total)


@dataclass
class _Round:
    """One pass over the previewed region's tiles."""

    corners: list[tuple[int, int]]  # still to predict, next first
    blend: Blend
    tile: int
    total: int
    urgent: bool  # its next batch may skip the budget: the first tile of a new view
    step: int  # the weights of its first batch: the oldest among its tiles
    done: int = 0

    @classmethod
    def plan(
        cls, schedule: PreviewSchedule, predictor, shape, mask, new_view: bool, step: int
    ) -> _Round:
        region, tile = check_region(schedule.region, shape), predictor.tile
        corners = tile_corners(region, shape, tile, predictor.overlap, mask)  # centre first
        # after a new view's centre, what was never shown (a pan uncovered it) before the rest
        first = 1 if new_view else 0
        corners[first:] = sorted(corners[first:], key=lambda corner: corner in schedule.shown)
        blend = Blend(region, tile, predictor.overlap)
        return cls(corners, blend, tile, len(corners), urgent=new_view, step=step)

    def focus_on(self, box: tuple[int, int, int, int]) -> None:
        """Predict the tiles nearest ``box`` (a stroke) next, if it is in the region."""
        y0, x0, y1, x1 = box
        ry0, rx0, ry1, rx1 = self.blend.region
        if y1 <= ry0 or y0 >= ry1 or x1 <= rx0 or x0 >= rx1:
            return
        cy, cx = (y0 + y1 - self.tile) / 2, (x0 + x1 - self.tile) / 2
        self.corners.sort(key=lambda c: (c[0] - cy) ** 2 + (c[1] - cx) ** 2)

    def take(self, count: int) -> list[tuple[int, int]]:
        taken, self.corners[:count] = self.corners[:count], []
        return taken


class Interrupt:
    """True once a command waits, and remembers it cut: a preview's ``should_stop``
    (Predictor.stream), and what a training step still waiting for its batch gives way to."""

    def __init__(self, commands: queue.Queue) -> None:
        self.commands = commands
        self.cut = False

    def __call__(self) -> bool:
        self.cut = not self.commands.empty()
        return self.cut


def stream_events(
    predictor, segment, mask, region, request: int, step: int, interrupt: Interrupt
) -> Iterator[PredictionReady]:
    """One PredictionReady per tile batch of ``region``, centre first, until ``interrupt``;
    a single all-0 update if the region holds no papyrus (so every request gets an answer)."""
    update = None
    for update in predictor.stream(segment, region, mask, should_stop=interrupt):
        yield PredictionReady(
            request, update.box, step, update.probability, update.tiles_done, update.tiles_total
        )
    if update is None and not interrupt.cut:
        y0, x0, y1, x1 = region
        yield PredictionReady(request, region, step, np.zeros((y1 - y0, x1 - x0), np.float32), 0, 0)


def validate(
    predictor, segment, mask, labels, validation, step: int, interrupt: Interrupt
) -> Validated | None:
    """Scores on the ``validation`` region's labelled pixels at the best-F0.5 threshold; None
    where they cannot score (`unscorable`), or if a waiting command cut the prediction short."""
    from inkloop.metrics import best_scores

    if unscorable(labels, validation):
        return None
    y0, x0, y1, x1 = validation
    supervised = labels.supervised[y0:y1, x0:x1]
    probability = np.zeros(supervised.shape, np.float32)
    for event in stream_events(predictor, segment, mask, validation, 0, step, interrupt):
        by0, bx0, by1, bx1 = event.region  # the last update of a pixel holds its final value
        probability[by0 - y0 : by1 - y0, bx0 - x0 : bx1 - x0] = event.probability
    if interrupt.cut:
        log.debug("inkloop engine: validation at step %d skipped for a command", step)
        return None
    scores = best_scores(probability, labels.ink[y0:y1, x0:x1], supervised)
    return Validated(step, scores.f05, scores.precision, scores.recall, scores.threshold)


def unscorable(labels, validation) -> str | None:
    """Why the ``validation`` region's labels cannot score a model; None if they can."""
    y0, x0, y1, x1 = validation
    supervised = labels.supervised[y0:y1, x0:x1]
    if not supervised.any():
        return "the validation region holds no labels: nothing to score"
    if not (labels.ink[y0:y1, x0:x1][supervised] >= INK_LEVEL).any():
        return "the validation region's labels hold no ink: every score would be 0; none is given"
    return None
