"""Finetuning on sparse soft labels: sampling, augmentation, masked loss, the training loop."""

from inkloop.train._augment import augment_batch
from inkloop.train._labels import INK_LEVEL, LabelError, LabelStore
from inkloop.train._loop import StepResult, Trainer
from inkloop.train._loss import masked_loss
from inkloop.train._sampler import Batch, BatchStream, PatchSampler
from inkloop.train._workers import ProcessBatchStream, WorkerError, auto_workers

__all__ = [
    "INK_LEVEL",
    "Batch",
    "BatchStream",
    "LabelError",
    "LabelStore",
    "PatchSampler",
    "ProcessBatchStream",
    "StepResult",
    "Trainer",
    "WorkerError",
    "augment_batch",
    "auto_workers",
    "masked_loss",
]
