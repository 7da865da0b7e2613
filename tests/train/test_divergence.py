"""Divergence: the user's to fix (one line, no traceback), and found in the weights that
predictions use as well as in the loss."""

from __future__ import annotations

import pytest

from inkloop._errors import TrainingDivergedError, users_error
from tests._helpers import tiny_trainer


def test_a_loss_that_is_not_finite_is_the_users_error(parts):
    trainer = tiny_trainer(parts)
    trainer.model.register_forward_hook(lambda _m, _i, output: output * float("nan"))
    with pytest.raises(FloatingPointError, match="lower the learning rate") as raised:
        trainer.step()  # still a FloatingPointError, as before it had a class
    trainer.close()
    assert users_error(raised.value)  # the engine logs one line, not a traceback
    assert users_error(raised.value, command=True)


def test_weights_only_predictions_read_that_are_not_finite_stop_the_run(parts):
    trainer = tiny_trainer(parts)
    # BatchNorm's running statistics: training mode reads the batch's, so the loss stays
    # finite; the average copies them at its first update, and predictions read them
    name, statistic = next(
        (n, b) for n, b in trainer.model.named_buffers() if n.endswith("running_var")
    )
    statistic.fill_(float("inf"))
    with pytest.raises(TrainingDivergedError, match="lower the learning rate") as raised:
        trainer.step()  # the first: checked, as every CALIBRATE_EVERY-th is
    trainer.close()
    assert f"training diverged by step 0: 1 weight ({name}) is not finite" in str(raised.value)
