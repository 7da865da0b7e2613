"""The fewest patches a training step may take: 2 where the deepest encoder stage would
feed a BatchNorm in training one value a channel, else 1."""

from __future__ import annotations

from inkloop.model import ModelSettingsError
from inkloop.settings import ModelConfig


def smallest_batch(config: ModelConfig, model, patch_size: int, batch_size: int) -> tuple[int, str]:
    """The fewest patches of ``patch_size`` model pixels a training step of ``model`` (built
    from ``config``) may take, and why it may not take 1 ("" where it may): at depth 5, 32²
    patches are 1x1 at the deepest encoder stage, where a BatchNorm in training would see one
    value a channel. Encoders without BatchNorm (LayerNorm, GroupNorm: mit_b0, convnexts)
    train on 1. Raises a ModelSettingsError where ``batch_size`` is fewer; a Trainer halves
    a batch out of GPU memory no lower."""
    depth = config.encoder_depth
    if patch_size >> depth > 1 or not _has_batch_norm(getattr(model, "unet", model).encoder):
        return 1, ""
    why = (
        f"{patch_size}² patches are 1x1 at the deepest of the model's {depth} encoder stages, "
        "and a BatchNorm in training needs more than one value"
    )
    if batch_size < 2:
        raise ModelSettingsError(f"a batch of 1 cannot train: {why}; use 2 patches or more")
    return 2, why


def _has_batch_norm(module) -> bool:
    from torch.nn.modules.batchnorm import _BatchNorm

    return any(isinstance(m, _BatchNorm) for m in module.modules())
