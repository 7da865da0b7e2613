"""The training loop: one `Trainer.step()` = sample, augment, forward, masked loss, AdamW."""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

from inkloop._cuda import out_of_memory, release_cached_memory
from inkloop._torch_threads import TorchThreads
from inkloop._transfer import to_device
from inkloop.checkpoint import Checkpoint
from inkloop.compose import Composition, Normalisation
from inkloop.model import autocast, mixed_precision, pick_device
from inkloop.settings import ModelConfig, TrainConfig, batch_size_for
from inkloop.train._augment import augment_batch
from inkloop.train._average import WeightAverage
from inkloop.train._build import model_to_train, optimiser_for, sampling_for
from inkloop.train._calibration import CALIBRATE_EVERY
from inkloop.train._divergence import diverged_loss, refuse_not_finite
from inkloop.train._labels import LabelStore
from inkloop.train._loss import masked_loss
from inkloop.train._run_record import RunRecord
from inkloop.train._sampler import WaitInterruptedError
from inkloop.train._schedule import learning_rate, run_progress
from inkloop.train._seeds import AUGMENTATION, first_opening, run_generator
from inkloop.train._smallest import smallest_batch
from inkloop.train._workers import loader_workers, open_stream


@dataclass(frozen=True)
class StepResult:
    step: int
    loss: float
    lr: float
    samples_per_s: float
    batch_size: int
    labels_version: int  # LabelStore.version this step's batch was cut from
    notice: str | None = None  # something the user should hear once (e.g. batch halved)


class Trainer:
    """A model being finetuned on one segment's labels. Not thread-safe: one caller steps it."""

    def __init__(
        self,
        segment,
        labels: LabelStore,
        composition: Composition,
        normalisation: Normalisation,
        config: TrainConfig | None = None,
        *,
        model_config: ModelConfig | None = None,
        init: Checkpoint | None = None,
    ) -> None:
        self.config = config = config or TrainConfig()
        self.segment, self.labels = segment, labels
        self.composition, self.normalisation = composition, normalisation
        self.device = pick_device(config.device)
        self.model_config, self.model = model_to_train(
            composition, model_config, init, self.device, config.seed
        )
        self.batch_size = config.batch_size or batch_size_for(self.device.type)
        self._fewest, self._why_fewest = smallest_batch(
            self.model_config, self.model, config.patch_size, self.batch_size
        )
        self._graphed = self._graphed_forward() if config.cuda_graphs else None
        self.average = WeightAverage(self.model, config.ema) if config.ema else None
        self.optimizer, self.scaler = optimiser_for(self.model, config, self.device)
        self.step_count = init.step if init is not None else 0
        self.run_steps = 0
        self.trained_seconds = 0.0
        self.run_record = RunRecord.starting(self.step_count, self.batch_size)
        self._warmed: float | None = None  # the run's progress where its warmup ended
        # keyed by the start step too: a continued run draws anew (`inkloop.train._seeds`)
        self._rng = run_generator(config.seed, AUGMENTATION, self.step_count)
        self._told_oom = False
        self._sampler, self._z_room, self._calibration = sampling_for(
            segment, labels, composition, normalisation, config, self.step_count, init
        )
        self._stream = None  # a BatchStream (opened by the first step) or ProcessBatchStream
        # counts streams opened: one reopened after an error draws new patches
        self._openings = first_opening(self.step_count)
        self._loader_notice: str | None = None  # why the loader is not what was asked for
        self._saved_buffers: list | None = None  # the model's buffers before a step
        self.interrupt = None  # asked while a step awaits its batch: if true, WaitInterruptedError
        self._threads = TorchThreads(config.threads)  # here: settings refused above took none
        self._threads.take()
        if loader_workers(config, self.device.type):  # spawned now (~1 s): ready for step 1
            self.batches()

    @property
    def precision(self) -> str:
        """What the steps compute in: "float32", or the autocast dtype ("bfloat16", ...)."""
        dtype = mixed_precision(self.device, self.config.amp)
        return "float32" if dtype is None else str(dtype).removeprefix("torch.")

    def new_run(self) -> None:
        """Start counting a new run (limits, warmup, schedule); weights and optimiser stay."""
        self.run_steps, self.trained_seconds, self._warmed = 0, 0.0, None
        self.run_record = RunRecord.starting(self.step_count, self.batch_size)

    def end_run(self, *, cut_short: bool) -> None:
        """The run ended (at its limit, or ``cut_short``): its checkpoints record that and
        the labels as they are now (`RunRecord.end`)."""
        self.run_record.end(self.labels, cut_short=cut_short)

    def step(self) -> StepResult:
        """One optimiser step on a fresh batch; halves the batch on out-of-GPU-memory."""
        started = time.perf_counter()
        self._threads.take()  # again, after a close or another taker's change
        stream = self.batches()
        notices, self._loader_notice = [self._loader_notice], None
        while True:
            try:
                batch = stream.next(self.interrupt)
            except Exception as error:  # its makers stopped at an error: the next step opens anew
                if isinstance(error, WaitInterruptedError):
                    self._loader_notice = notices[0]  # said by the step that happens
                else:
                    self.close()
                raise
            lr = self.learning_rate()
            try:
                how = self.composition, self.config.augment, self._rng, self._z_room
                inputs, ink, weight = augment_batch(*self.to_device(batch), *how)
                loss = self.optimise(inputs, ink, weight, lr=lr)
                break
            except RuntimeError as error:
                if not out_of_memory(error):
                    raise
                if self.batch_size <= self._fewest:
                    raise MemoryError(self._no_room()) from error
            notices.append(self._halve_batch())  # after the except: its frames held the pass
        if self.step_count % CALIBRATE_EVERY == 0:  # not every step: a scan of every weight
            refuse_not_finite(self.inference_model, self.step_count)
            notices.append(self._calibration.measure(self))
        elapsed = time.perf_counter() - started
        self._count_step(elapsed)
        return StepResult(
            self.step_count,
            loss,
            lr,
            len(batch.ink) / elapsed,
            self.batch_size,
            batch.label_version,
            "; ".join(n for n in notices if n) or None,
        )

    def optimise(self, inputs, ink, weight, *, lr: float) -> float:
        """One AdamW step on model-ready device tensors; returns the loss. If the loss is not
        finite, TrainingDivergedError and this step's update left out (the update before it
        may have made weights so: `refuse_not_finite`)."""
        import torch

        for group in self.optimizer.param_groups:
            group["lr"] = lr
        if self.device.type == "cuda":
            inputs = inputs.contiguous(memory_format=torch.channels_last)
        # the forward pass updates BatchNorm statistics: keep them to undo a diverged step
        # (one multi-tensor copy into kept tensors: ~90 clones were ~90 launches on a GPU)
        buffers = list(self.model.buffers())
        if self._saved_buffers is None:
            self._saved_buffers = [b.clone() for b in buffers]
        torch._foreach_copy_(self._saved_buffers, buffers)
        if self._graphed is not None:
            logits = self._graphed(inputs)
        else:
            with autocast(self.device, self.config.amp):
                logits = self.model(inputs)
        loss = masked_loss(
            logits,
            ink,
            weight,
            smoothing=self.config.label_smoothing,
            dice_weight=self.config.dice_weight,
        )
        self.optimizer.zero_grad(set_to_none=True)
        self.scaler.scale(loss).backward()
        # read after the backward pass is queued: the one wait for the GPU in a step
        value = float(loss.detach())
        if not math.isfinite(value):
            self.optimizer.zero_grad(set_to_none=True)
            torch._foreach_copy_(buffers, self._saved_buffers)
            raise diverged_loss(self.step_count, value)
        self.scaler.step(self.optimizer)
        self.scaler.update()
        if self.average is not None:
            self.average.update(self.model)
        return value

    def logit_offset(self) -> float:
        """Subtracted from the logits before the sigmoid, so that p = 0.5 calls ink on as much
        of the labelled papyrus as the labels do (`ShareCalibration`: the ink-centred patches
        and the label smoothing leave the raw p = 0.5 far from it, docs/quality.md); 0 until
        measured; a continued run's starts at its checkpoint's (`WindowCalibration`)."""
        return self._calibration.offset()

    @property
    def inference_model(self):
        """What predictions and checkpoints use: the weight average, or the model itself."""
        return self.model if self.average is None else self.average.module

    def _count_step(self, seconds: float) -> None:
        self.trained_seconds += seconds
        self.step_count += 1
        self.run_steps += 1
        if self.run_steps == self.config.warmup_steps:  # a time limit's share is known now
            self._warmed = self.progress()

    def learning_rate(self) -> float:
        """This step's rate (`inkloop.train._schedule.learning_rate`)."""
        return learning_rate(self.config, self.run_steps, self.progress(), self._warmed or 0.0)

    def progress(self) -> float | None:
        """Fraction of the run's step or time limit used (the larger); None without limits."""
        return run_progress(self.config, self.run_steps, self.trained_seconds)

    @property
    def finished(self) -> bool:
        progress = self.progress()
        return progress is not None and progress >= 1.0

    def checkpoint(self, provenance: dict | None = None) -> Checkpoint:
        """The current weights with everything needed to predict or continue."""
        return Checkpoint(
            model=self.model_config,
            composition=self.composition,
            normalisation=self.normalisation,
            patch_size=self.config.patch_size,
            step=self.step_count,
            state_dict={
                k: v.detach().cpu().clone() for k, v in self.inference_model.state_dict().items()
            },
            # the TrainConfig holds the settings (``amp``: where the hardware has it); this
            # is what they came to on this machine
            provenance={
                **(provenance or {}),
                **self.run_record.provenance(
                    dict(
                        device=str(self.device),
                        precision=self.precision,
                        batch_size=self.batch_size,
                        trained_seconds=round(self.trained_seconds, 3),  # this run's
                    )
                ),
            },
            train=self.config,
            logit_offset=self.logit_offset(),
            layers=self.composition.file_layers(self.segment),
        )

    def close(self) -> None:
        """End the batch stream (its worker processes too), free the shared memory they sampled
        the labels from and give back torch's thread count: the next step takes them again."""
        if self._stream is not None:
            self._stream.close()
            self._stream = None
        self.labels.unshare()
        self._threads.give_back()

    def batches(self):
        """The stream of training batches (`BatchStream` or `ProcessBatchStream`)."""
        if self._stream is None:
            self._stream, self._loader_notice = open_stream(
                self._sampler, self.batch_size, self.config, self.device.type, self._openings
            )
            self._openings += 1
        return self._stream

    def _graphed_forward(self):
        from inkloop.model import check_cuda_graphs
        from inkloop.train._graphs import GraphedForward

        check_cuda_graphs(self.device)
        return GraphedForward(self.model, mixed_precision(self.device, self.config.amp))

    def to_device(self, batch):
        """A Batch's layers, ink and weights as tensors on the training device."""
        return tuple(to_device(a, self.device) for a in (batch.layers, batch.ink, batch.weight))

    def _no_room(self) -> str:
        helps = "a smaller patch size, a lighter model"
        if self._why_fewest:  # 2 patches of 32² at depth 5: none smaller
            helps = f"a lighter or shallower model (a batch of 1 cannot train: {self._why_fewest})"
        return f"out of GPU memory even with a batch of {self._fewest}: use {helps} or --device cpu"

    def _halve_batch(self) -> str | None:
        self.batch_size = max(self.batch_size // 2, self._fewest)
        self.run_record.halved(self.step_count, self.batch_size)
        self.batches().batch_size = self.batch_size
        self.optimizer.zero_grad(set_to_none=True)
        if self._graphed is not None:  # recorded again for the new shape
            self._graphed.release()
        release_cached_memory()
        if self._told_oom:
            return None
        self._told_oom = True
        return f"out of GPU memory: batch size halved to {self.batch_size}, training goes on"
