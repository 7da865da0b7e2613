"""The learning rate over a run: a linear warm-up, then a cosine to 2% of the peak."""

from __future__ import annotations

import math

from inkloop.settings import TrainConfig


def learning_rate(config: TrainConfig, run_steps: int, progress: float | None, warmed: float):
    """The rate of step ``run_steps`` of a run at ``progress`` (its share of the step or time
    limit; None without one): linear warm-up, then a cosine from the full rate at warm-up's
    end (``warmed``: the progress there) to 2% at the limit; or constant."""
    if run_steps < config.warmup_steps:
        return config.lr * (run_steps + 1) / config.warmup_steps
    if config.schedule == "constant" or progress is None:
        return config.lr
    rest = (progress - warmed) / max(1.0 - warmed, 1e-9)
    return config.lr * (0.02 + 0.49 * (1 + math.cos(math.pi * min(rest, 1.0))))


def run_progress(config: TrainConfig, run_steps: int, trained_seconds: float) -> float | None:
    """Fraction of the run's step or time limit used (the larger); None without limits."""
    fractions = []
    if config.max_steps:
        fractions.append(run_steps / config.max_steps)
    if config.max_seconds:
        fractions.append(trained_seconds / config.max_seconds)
    return max(fractions) if fractions else None
