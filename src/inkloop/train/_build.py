"""What a `Trainer` is built from: its seeded model, its optimiser, and its patch sampling."""

from __future__ import annotations

from inkloop.checkpoint import Checkpoint
from inkloop.compose import Composition, Normalisation
from inkloop.model import mixed_precision, model_for
from inkloop.settings import ModelConfig, TrainConfig
from inkloop.train._calibration import WindowCalibration
from inkloop.train._labels import LabelStore
from inkloop.train._sampler import PatchSampler


def model_to_train(
    composition: Composition,
    model_config: ModelConfig | None,
    init: Checkpoint | None,
    device,
    seed: int,
):
    """The config and model (`inkloop.model.model_for`) a Trainer starts from: its initial
    weights drawn from ``seed``, on ``device`` (a torch.device), in training mode."""
    import torch

    # the seed picks the initial weights, nothing else; they are made on the CPU, so no
    # GPU's generator is touched (forking all of them would set up every GPU)
    with torch.random.fork_rng(devices=[]):
        torch.default_generator.manual_seed(seed)
        config, model = model_for(composition, model_config, init, device)
    model.to(device).train()
    if device.type == "cuda":
        model.to(memory_format=torch.channels_last)
    return config, model


def optimiser_for(model, config: TrainConfig, device):
    """AdamW over ``model``'s weights, and the gradient scaler (on for float16 only)."""
    import torch

    # fused: one kernel for all parameters, ~20% of a step on 2 CPU cores (docs/quality.md)
    fused = device.type in ("cpu", "cuda")
    optimizer = torch.optim.AdamW(
        model.parameters(), lr=config.lr, weight_decay=config.weight_decay, fused=fused
    )
    fp16 = mixed_precision(device, config.amp) is torch.float16
    return optimizer, torch.amp.GradScaler("cuda", enabled=fp16)


def sampling_for(
    segment,
    labels: LabelStore,
    composition: Composition,
    normalisation: Normalisation,
    config: TrainConfig,
    start_step: int,
    init: Checkpoint | None,
) -> tuple[PatchSampler, tuple[int, int], WindowCalibration]:
    """The patch sampler of a run from ``start_step``, the z room its augmentation may shift
    in, and the calibration of its logit offset (starting from ``init``'s)."""
    sampler = PatchSampler(
        segment,
        composition,
        normalisation,
        labels,
        patch_size=config.patch_size,
        z_margin=config.augment.z_jitter,
        ink_share=config.ink_share,
    )
    z_room = composition.z_room(segment.shape[0], config.augment.z_jitter)
    # a checkpoint saved before any step never measured its offset (0 there): no prior
    prior = init.logit_offset if init is not None and start_step > 0 else None
    return sampler, z_room, WindowCalibration(sampler, config.seed, start_step, prior)
