"""The random streams of a seeded run: each purpose draws from its own key, so that no two
share numbers (a loader thread's patches were once the augmentation's flips)."""

from __future__ import annotations

import numpy as np

AUGMENTATION = 1  # the Trainer's augmentations: key (seed, AUGMENTATION)
CALIBRATION = 2  # the windows `WindowCalibration` measures: (seed, CALIBRATION)
# 3 was a loader thread's own stream: 0 workers drew other batches than 1 or more
BATCHES = 4  # batch n of a stream, whatever makes it: (seed, BATCHES, opening, n)


def generator(seed: int, purpose: int, *key: int) -> np.random.Generator:
    """numpy's generator for ``purpose`` and its ``key``; ``opening`` in a key counts the
    streams a Trainer opened, so that one reopened after an error draws new patches.

    Keys of one purpose have one length: numpy's SeedSequence reads (a, b) and (a, b, 0) alike.
    """
    return np.random.default_rng([seed, purpose, *key])


def batch_generator(seed: int, opening: int, number: int) -> np.random.Generator:
    """What batch ``number`` of a Trainer's stream ``opening`` is drawn from, whether a thread
    or one of any number of worker processes makes it: a seeded run draws the same batches
    whatever makes them."""
    return generator(seed, BATCHES, opening, number)
