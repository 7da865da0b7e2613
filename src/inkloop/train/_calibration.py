"""Where p = 0.5 falls: the logit above which the model calls as much ink as the labels hold.

The sampler centres half the patches on ink and the loss smooths the labels, so a model's raw
probabilities say neither how much ink there is nor where it becomes likelier than not. Closed
forms for each (the prior correction logit(sampled) - logit(labelled); undoing the smoothing)
were each right at one stage of a run and off by up to 1.4 logits at another on the real dev
crop (docs/quality.md, "Calibration, measured instead of derived"). This measures instead:
the inference model's logits over labelled pixels, per class, and the threshold at which the
share it calls ink matches the labels' share of ink.
"""

from __future__ import annotations

import numpy as np

from inkloop._cuda import out_of_memory, release_cached_memory
from inkloop.settings import NO_AUGMENTATION
from inkloop.train._augment import augment_batch
from inkloop.train._sampler import PatchSampler
from inkloop.train._seeds import CALIBRATION, run_generator

EDGES = np.linspace(-16.0, 16.0, 641)  # 0.05-logit bins
DECAY = 0.8  # per measurement: the model changes as it trains, ~ the last 5 measurements count
CALIBRATE_EVERY = 20  # steps between measurements of where p = 0.5 falls (~3% of a CPU step)
# Whole windows, not 64² patches, whose logits read lower for want of context (docs/quality.md)
CALIBRATION_WINDOW = 256  # model pixels, at most; the outer eighth on each side is left out


class ShareCalibration:
    """Decayed histograms of logits over labelled ink and no-ink pixels (soft labels count in
    proportion); `offset` is the logit to subtract so that p = 0.5 calls the labelled share."""

    def __init__(self) -> None:
        self._ink = np.zeros(len(EDGES) - 1)
        self._paper = np.zeros(len(EDGES) - 1)

    def add(self, logits: np.ndarray, ink: np.ndarray, weight: np.ndarray) -> None:
        """Count ``logits`` (B, H, W) where ``weight``; ``ink`` in 0..1 says how much is ink."""
        # clipped into the edges: np.histogram drops what falls outside them
        logits, ink = np.clip(logits[weight], EDGES[0], EDGES[-1] - 1e-3), ink[weight]
        self._ink = DECAY * self._ink + np.histogram(logits, EDGES, weights=ink)[0]
        self._paper = DECAY * self._paper + np.histogram(logits, EDGES, weights=1 - ink)[0]

    def offset(self, labelled_share: float, default: float = 0.0) -> float:
        """The logit T with labelled_share of the labelled pixels (at the labels' own mix of ink
        and no-ink, whatever mix the batches had) above it; ``default`` until both classes
        were seen."""
        ink, paper = self._ink.sum(), self._paper.sum()
        if not (ink > 0 and paper > 0 and 0 < labelled_share < 1):
            return default
        above = labelled_share * _tail(self._ink) / ink
        above += (1 - labelled_share) * _tail(self._paper) / paper
        # above[k]: the share at or above EDGES[k], falling with k; the first edge at or under
        under = np.flatnonzero(above <= labelled_share)
        return float(EDGES[under[0]] if under.size else EDGES[-1])


class WindowCalibration:
    """A `ShareCalibration` of a Trainer's inference model, measured on the labelled pixels in
    the middle of one unaugmented window around a labelled pixel (the context a prediction
    tile gives). ``patches``: the training patches' sampler, whose window this widens to at
    most 4 patches (its cost stays ~3% of a step with smaller patches), and narrows again,
    down to one patch, where the GPU has no room for it.

    ``prior``: the offset of the checkpoint a continued run starts from (None for a fresh
    run). It counts as the ~1 / (1 - DECAY) windows the checkpoint's offset averaged, and
    fades as the histograms' old windows do, so that one window does not replace it."""

    def __init__(
        self, patches: PatchSampler, seed: int, start_step: int = 0, prior: float | None = None
    ) -> None:
        window = min(CALIBRATION_WINDOW, 4 * patches.patch_size)
        self.sampler = PatchSampler(
            patches.segment, patches.composition, patches.normalisation, patches.labels,
            patch_size=window,
        )  # fmt: skip
        self._smallest = patches.patch_size
        self._rng = run_generator(seed, CALIBRATION, start_step)
        self._shares = ShareCalibration()
        self._prior = prior
        self._measured = 0  # windows measured
        self._told_skipped = False

    def offset(self) -> float:
        """`ShareCalibration.offset` at the labels' share of ink (0 until measured); with a
        prior, DECAY ** windows measured of the prior and the rest of the measured offset."""
        prior = 0.0 if self._prior is None else self._prior
        measured = self._shares.offset(self.sampler.labels.ink_share(), prior)
        if self._prior is None:
            return measured
        kept = DECAY**self._measured  # the prior's windows, decayed as the measured ones are
        return kept * prior + (1 - kept) * measured

    def measure(self, trainer) -> str | None:
        """Measure one window; out of GPU memory, on windows half as wide (down to a patch),
        or where not even a patch fits, not this time. Returns what the user should hear."""
        window = self.sampler.patch_size
        while True:
            try:
                self._measure(trainer)
                self._measured += 1
                break
            except RuntimeError as error:
                if not out_of_memory(error):
                    raise
            release_cached_memory()  # after the except: its frames held the pass's tensors
            if self.sampler.patch_size == self._smallest:
                return self._skipped()
            self.sampler.patch_size = max(self._smallest, self.sampler.patch_size // 2)
        if self.sampler.patch_size == window:
            return None
        narrowed = self.sampler.patch_size
        return f"out of GPU memory: calibration windows narrowed to {narrowed}², training goes on"

    def _measure(self, trainer) -> None:
        """One window's logits from ``trainer``'s inference model, in eval mode."""
        import torch

        from inkloop.model import autocast

        window = self.sampler.batch(1, self._rng)
        inputs, ink, weight = augment_batch(
            *trainer.to_device(window), trainer.composition, NO_AUGMENTATION, self._rng
        )
        model = trainer.inference_model
        training = model.training
        model.eval()
        try:
            with torch.inference_mode(), autocast(trainer.device, trainer.config.amp):
                logits = model(inputs)[:, 0].float()
        finally:
            model.train(training)
        inner = slice(window.ink.shape[-1] // 8, -(window.ink.shape[-1] // 8))
        self._shares.add(*(t[:, inner, inner].cpu().numpy() for t in (logits, ink, weight)))

    def _skipped(self) -> str | None:
        if self._told_skipped:
            return None
        self._told_skipped = True
        return (
            f"out of GPU memory even for one {self.sampler.patch_size}² calibration window: "
            f"the logit offset stays {self.offset():.2f} until one fits, training goes on"
        )


def _tail(counts: np.ndarray) -> np.ndarray:
    """Counts at or above each bin's lower edge."""
    return counts[::-1].cumsum()[::-1]
