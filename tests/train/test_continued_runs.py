"""A run continued from a checkpoint draws new batches, augmentations and calibration windows,
and keeps the checkpoint's calibration as a prior; a fresh run draws what it always drew."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from inkloop.train import PatchSampler, Trainer
from inkloop.train._calibration import DECAY, WindowCalibration
from tests._helpers import tiny_model, tiny_training

SEED = 3


def _first_draws(trainer: Trainer):
    """The first batch's layers and the first augmentation and calibration numbers."""
    try:
        layers = trainer.batches().next().layers.copy()
    finally:
        trainer.close()
    return layers, trainer._rng.random(4), trainer._calibration._rng.random(4)


def _continued(parts, step: int, **changes) -> Trainer:
    """A Trainer continued from a fresh tiny model's checkpoint at ``step``."""
    fresh = Trainer(*parts, tiny_training(seed=SEED), model_config=tiny_model())
    init = dataclasses.replace(fresh.checkpoint(), step=step, **changes)
    return Trainer(*parts, tiny_training(seed=SEED), init=init)


def test_a_fresh_run_draws_from_the_keys_it_always_had(parts):
    trainer = Trainer(*parts, tiny_training(seed=SEED), model_config=tiny_model())
    sampler = trainer._sampler
    layers, augmentation, calibration = _first_draws(trainer)
    # the keys of before continued runs were keyed by their start step (the figures of
    # record were drawn from them): batch n of opening o (seed, 4, o, n), augmentations
    # (seed, 1), calibration windows (seed, 2)
    old_batch = sampler.batch(4, np.random.default_rng([SEED, 4, 0, 0])).layers
    assert np.array_equal(layers, old_batch)
    assert np.array_equal(augmentation, np.random.default_rng([SEED, 1]).random(4))
    assert np.array_equal(calibration, np.random.default_rng([SEED, 2]).random(4))
    # a checkpoint of step 0 starts where a fresh run does
    again = _first_draws(_continued(parts, 0))
    first = (layers, augmentation, calibration)
    assert all(np.array_equal(a, b) for a, b in zip(again, first, strict=True))


def test_a_continued_run_draws_new_batches_augmentations_and_windows(parts):
    fresh = _first_draws(Trainer(*parts, tiny_training(seed=SEED), model_config=tiny_model()))
    at_120, at_140 = _first_draws(_continued(parts, 120)), _first_draws(_continued(parts, 140))
    for what in range(3):  # batch, augmentation, calibration window
        assert not np.array_equal(at_120[what], fresh[what])
        assert not np.array_equal(at_140[what], at_120[what])


def test_a_continued_run_keeps_its_checkpoints_calibration_as_a_prior(parts):
    prior = 3.0  # far from what the untrained model measures
    resumed = _continued(parts, 120, logit_offset=prior)
    assert resumed.logit_offset() == prior
    resumed.step()  # step 120: a calibration window is measured
    resumed.close()
    shares = resumed._calibration._shares
    measured = shares.offset(resumed.labels.ink_share())
    assert measured != pytest.approx(prior, abs=0.5)
    # one window counts as one of the ~5 the prior averaged, not as all of them
    assert resumed.logit_offset() == pytest.approx(DECAY * prior + (1 - DECAY) * measured)
    assert resumed.checkpoint().logit_offset == resumed.logit_offset()


def test_a_fresh_runs_offset_is_its_measurement_alone(parts):
    trainer = Trainer(*parts, tiny_training(seed=SEED), model_config=tiny_model())
    assert trainer.logit_offset() == 0.0
    trainer.step()
    trainer.close()
    measured = trainer._calibration._shares.offset(trainer.labels.ink_share())
    assert trainer.logit_offset() == measured != 0.0


def test_a_checkpoint_saved_before_any_step_is_no_prior(parts):
    # its offset, 0, was never measured: the run's first window sets it, as a fresh run's
    resumed = _continued(parts, 0)
    resumed.step()
    resumed.close()
    measured = resumed._calibration._shares.offset(resumed.labels.ink_share())
    assert resumed.logit_offset() == measured != 0.0


def test_the_prior_fades_as_the_runs_own_windows_come_in(parts, monkeypatch):
    segment, labels, composition, normalisation = parts
    sampler = PatchSampler(segment, composition, normalisation, labels, patch_size=32)
    continued = WindowCalibration(sampler, SEED, start_step=120, prior=3.0)
    fresh = WindowCalibration(sampler, SEED)
    logits = np.linspace(-4, 4, 1000)[None]  # the same window each time: one offset measured
    ink = (np.arange(1000) % 10 == 0)[None].astype(np.float32)
    for calibration in (continued, fresh):
        add = calibration._shares.add
        monkeypatch.setattr(calibration, "_measure", lambda _, add=add: add(logits, ink, ink >= 0))
    offsets = []
    for _ in range(20):
        continued.measure(None)
        fresh.measure(None)
        offsets.append(continued.offset())
    measured = fresh.offset()  # a fresh run's: its measurements alone
    weights = [(3.0 - offset) / (3.0 - measured) for offset in offsets]  # the measured share
    assert weights[0] == pytest.approx(1 - DECAY)
    assert weights[2] < 0.5 < weights[3]  # worth as much as the prior after ~3 windows
    assert weights[-1] == pytest.approx(1.0, abs=0.02)
