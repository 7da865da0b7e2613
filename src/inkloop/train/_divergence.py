"""Divergence: a loss or weights no longer finite, the user's to fix with a lower learning
rate (`TrainingDivergedError`, said in one line)."""

from __future__ import annotations

from inkloop._checkpoint_checks import counted, not_finite
from inkloop._errors import TrainingDivergedError

LOWER_THE_RATE = "lower the learning rate"


def diverged_loss(step: int, loss: float) -> TrainingDivergedError:
    """The error for a step whose loss is not finite."""
    said = f"training diverged at step {step} (loss {loss}); {LOWER_THE_RATE}"
    return TrainingDivergedError(said)


def refuse_not_finite(model, step: int) -> None:
    """TrainingDivergedError if a weight of ``model`` (the one predictions use) is not
    finite. The loss misses some: those an update has just made so, and BatchNorm's running
    statistics, which training mode does not read."""
    if diverged := not_finite(model.state_dict()):
        said = f"training diverged by step {step}: {counted(diverged)} not finite"
        raise TrainingDivergedError(f"{said}; {LOWER_THE_RATE}")
