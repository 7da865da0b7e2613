"""The random streams of a seeded run: each purpose draws from its own key, so that no two
share numbers (a loader thread's patches were once the augmentation's flips).

A run continued from a checkpoint at step N > 0 keys its streams by N as well, so that it
draws new patches, augmentations and calibration windows rather than those of the run that
made the checkpoint; a run from step 0 draws what it always drew (`run_generator`,
`first_opening`).
"""

from __future__ import annotations

import numpy as np

AUGMENTATION = 1  # the Trainer's augmentations: key (seed, AUGMENTATION, start step)
CALIBRATION = 2  # the windows `WindowCalibration` measures: (seed, CALIBRATION, start step)
# 3 was a loader thread's own stream: 0 workers drew other batches than 1 or more
BATCHES = 4  # batch n of a stream, whatever makes it: (seed, BATCHES, opening, n)
# a continued run's first opening: its key (seed, BATCHES, opening, n) then reads as
# (seed, BATCHES, reopenings, start step, n), numpy splitting the int into 32-bit words
_OPENINGS_PER_START = 2**32


def generator(seed: int, purpose: int, *key: int) -> np.random.Generator:
    """numpy's generator for ``purpose`` and its ``key``; ``opening`` in a key counts the
    streams a Trainer opened, so that one reopened after an error draws new patches.

    Keys of one purpose have one length: numpy's SeedSequence reads (a, b) and (a, b, 0) alike.
    """
    return np.random.default_rng([seed, purpose, *key])


def run_generator(seed: int, purpose: int, start_step: int) -> np.random.Generator:
    """The generator of a run's ``purpose`` (AUGMENTATION, CALIBRATION) when the run starts
    at ``start_step``: at step 0 the (seed, purpose) stream a fresh run has always had."""
    return generator(seed, purpose, start_step)


def first_opening(start_step: int) -> int:
    """The ``opening`` of the first batch stream of a run that starts at ``start_step``: 0 at
    step 0; later, a number no run from step 0 reaches, different for each start step."""
    return start_step * _OPENINGS_PER_START


def batch_generator(seed: int, opening: int, number: int) -> np.random.Generator:
    """What batch ``number`` of a Trainer's stream ``opening`` is drawn from, whether a thread
    or one of any number of worker processes makes it: a seeded run draws the same batches
    whatever makes them."""
    return generator(seed, BATCHES, opening, number)
