"""Predictions streamed out of the engine: the standing viewport preview and its interruptions."""

from __future__ import annotations

import logging
import queue
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from inkloop.engine._events import PredictionReady, Validated

log = logging.getLogger(__name__)


@dataclass
class Preview:
    """The region being previewed: predicted at once, then again every ``every`` seconds while
    training goes on, and once more whenever the weights changed and training is not running."""

    request: int
    region: tuple[int, int, int, int]
    every: float
    step: int | None = None  # weights of the last complete round; None: none yet
    due_at: float = 0.0

    def due(self, step: int, training: bool, now: float) -> bool:
        if self.step is None:
            return True
        if self.step == step:
            return False
        return not training or now >= self.due_at

    def done(self, step: int, now: float) -> None:
        self.step, self.due_at = step, now + self.every


class Interrupt:
    """``should_stop`` for Predictor.stream: true once a command waits; remembers it cut."""

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
    predictor, segment, mask, labels, holdout, step: int, interrupt: Interrupt
) -> Validated | None:
    """Scores on the ``holdout`` region's labelled pixels at the best-F0.5 threshold; None
    without labels there, or if a waiting command cut the prediction short."""
    from inkloop.metrics import best_scores

    y0, x0, y1, x1 = holdout
    supervised = labels.supervised[y0:y1, x0:x1]
    if not supervised.any():
        return None
    probability = np.zeros(supervised.shape, np.float32)
    for event in stream_events(predictor, segment, mask, holdout, 0, step, interrupt):
        by0, bx0, by1, bx1 = event.region  # the last update of a pixel holds its final value
        probability[by0 - y0 : by1 - y0, bx0 - x0 : bx1 - x0] = event.probability
    if interrupt.cut:
        log.debug("inkloop engine: validation at step %d skipped for a command", step)
        return None
    scores = best_scores(probability, labels.ink[y0:y1, x0:x1], supervised)
    return Validated(step, scores.f05, scores.precision, scores.recall, scores.threshold)
