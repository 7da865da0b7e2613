"""The random streams of a seeded run: each purpose draws from its own key, so that no two
share numbers (a loader thread's patches were once the augmentation's flips)."""

from __future__ import annotations

import numpy as np

AUGMENTATION = 1  # the Trainer's augmentations: key (seed, AUGMENTATION)
CALIBRATION = 2  # the windows `WindowCalibration` measures: (seed, CALIBRATION)
THREAD_BATCHES = 3  # a `BatchStream`'s thread: (seed, THREAD_BATCHES, opening, thread)
WORKER_BATCHES = 4  # a `ProcessBatchStream`'s batch n: (seed, WORKER_BATCHES, opening, n)


def generator(seed: int, purpose: int, *key: int) -> np.random.Generator:
    """numpy's generator for ``purpose`` and its ``key``; ``opening`` in a key counts the
    streams a Trainer opened, so that one reopened after an error draws new patches.

    Keys of one purpose have one length: numpy's SeedSequence reads (a, b) and (a, b, 0) alike.
    """
    return np.random.default_rng([seed, purpose, *key])
