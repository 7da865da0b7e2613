"""SoftBCE-with-logits (label smoothing) + Dice, both over supervised pixels only.

Written here rather than taken from smp.losses: smp's losses mask only by an ``ignore_index``
label value, which soft (0..1) labels cannot spare; here the mask is a separate weight map,
so unlabelled pixels contribute exactly zero loss and zero gradient.
"""

from __future__ import annotations


def masked_loss(logits, ink, weight, *, smoothing: float = 0.2, dice_weight: float = 1.0):
    """Loss of ``logits`` (B, 1, H, W) against soft ``ink`` (B, H, W) where ``weight`` is True."""
    import torch
    from torch.nn.functional import binary_cross_entropy_with_logits

    logits = logits[:, 0].float()
    weight = weight.to(logits.dtype)
    labelled = weight.sum().clamp_min(1)  # a batch without labels gives loss 0, not NaN
    target = ink * (1 - smoothing) + (1 - ink) * smoothing
    bce = binary_cross_entropy_with_logits(logits, target, reduction="none")
    # where() rather than multiply: a non-finite logit at an unlabelled pixel stays out too
    bce = torch.where(weight > 0, bce, torch.zeros_like(bce)).sum() / labelled
    if not dice_weight:
        return bce
    probability = torch.where(weight > 0, torch.sigmoid(logits), torch.zeros_like(logits))
    truth = ink * weight
    overlap = (probability * truth).sum()
    dice = 1 - (2 * overlap + 1) / (probability.sum() + truth.sum() + 1)
    return bce + dice_weight * dice
