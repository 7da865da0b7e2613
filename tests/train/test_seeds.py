"""Each random purpose of a seeded run draws its own numbers."""

from __future__ import annotations

import numpy as np
import pytest

from inkloop.train import Trainer
from inkloop.train._seeds import (
    AUGMENTATION,
    CALIBRATION,
    batch_generator,
    first_opening,
    generator,
    run_generator,
)
from tests._helpers import tiny_model, tiny_training


def test_no_two_purposes_or_batches_share_a_generator():
    starts = (0, 1, 120)  # the steps runs start at: 0 fresh, the others continued
    draws = [run_generator(7, purpose, start).integers(2**63)
             for purpose in (AUGMENTATION, CALIBRATION) for start in starts]  # fmt: skip
    draws += [batch_generator(7, first_opening(start) + opening, n).integers(2**63)
              for start in starts for opening in range(3) for n in range(4)]  # fmt: skip
    assert len(set(draws)) == len(draws)
    # a fresh run's keys are those of before runs were keyed by their start
    assert run_generator(7, AUGMENTATION, 0).random() == generator(7, AUGMENTATION).random()
    assert first_opening(0) == 0


@pytest.mark.parametrize("workers", [0, 1], ids=["thread", "worker process"])
def test_a_stream_reopened_after_an_error_draws_new_patches(parts, workers):
    trainer = Trainer(
        *parts, tiny_training(seed=3, loader_workers=workers), model_config=tiny_model()
    )
    try:
        first = trainer.batches().next().layers.copy()
        trainer.close()  # as a step does when its stream fails
        again = trainer.batches().next().layers.copy()
    finally:
        trainer.close()
    assert first.shape == again.shape
    assert not np.array_equal(first, again)
