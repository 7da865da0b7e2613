"""Finetuning on sparse soft labels: sampling, augmentation, masked loss, the training loop."""

from inkloop.train._augment import Augmentations, augment_batch
from inkloop.train._labels import LabelError, LabelStore
from inkloop.train._loop import StepResult, TrainConfig, Trainer
from inkloop.train._loss import masked_loss
from inkloop.train._sampler import Batch, BatchStream, PatchSampler

__all__ = [
    "Augmentations",
    "Batch",
    "BatchStream",
    "LabelError",
    "LabelStore",
    "PatchSampler",
    "StepResult",
    "TrainConfig",
    "Trainer",
    "augment_batch",
    "masked_loss",
]
