"""The masked loss: unlabelled pixels contribute exactly nothing."""

from __future__ import annotations

import math

import torch

from inkloop.train import masked_loss


def _inputs(seed=0):
    generator = torch.Generator().manual_seed(seed)
    logits = torch.randn(2, 1, 16, 16, generator=generator, requires_grad=True)
    ink = torch.rand(2, 16, 16, generator=generator)
    weight = torch.rand(2, 16, 16, generator=generator) < 0.3
    return logits, ink, weight


def test_unlabelled_pixels_get_zero_gradient():
    logits, ink, weight = _inputs()
    masked_loss(logits, ink, weight).backward()
    assert torch.all(logits.grad[:, 0][~weight] == 0)
    assert torch.all(logits.grad[:, 0][weight] != 0)


def test_loss_ignores_anything_at_unlabelled_pixels():
    logits, ink, weight = _inputs()
    reference = masked_loss(logits, ink, weight)
    changed_logits = logits.detach().clone()
    changed_logits[:, 0][~weight] = torch.tensor(float("inf"))
    changed_ink = torch.where(weight, ink, 1 - ink)
    assert masked_loss(changed_logits, changed_ink, weight) == reference


def test_no_labels_means_zero_loss_not_nan():
    logits, ink, _ = _inputs()
    loss = masked_loss(logits, ink, torch.zeros(2, 16, 16, dtype=torch.bool))
    loss.backward()
    assert loss.item() == 0.0
    assert torch.all(logits.grad == 0)


def test_confident_right_answers_lose_less_than_wrong_ones():
    ink = torch.zeros(1, 8, 8)
    ink[:, 2:5] = 1.0
    weight = torch.ones(1, 8, 8, dtype=torch.bool)
    right = (ink * 2 - 1)[:, None] * 6
    assert masked_loss(right, ink, weight) < masked_loss(-right, ink, weight) / 4
    # label smoothing: overconfident logits cost more than the smoothed target's own logit
    assert masked_loss(right * 3, ink, weight, dice_weight=0) > masked_loss(
        right / 4, ink, weight, dice_weight=0
    )


def test_smoothing_aims_ink_at_0_8_and_no_ink_at_0_2_alike():
    for ink_value, aim in ((1.0, 0.8), (0.0, 0.2)):
        logits = torch.full((1, 1, 4, 4), math.log(aim / (1 - aim)), requires_grad=True)
        ink, weight = torch.full((1, 4, 4), ink_value), torch.ones(1, 4, 4, dtype=torch.bool)
        masked_loss(logits, ink, weight, smoothing=0.2, dice_weight=0).backward()
        assert logits.grad.abs().max() < 1e-6  # the smoothed target is the minimum


def test_labelled_pixels_lose_the_same_however_many_unlabelled_share_the_batch():
    logits, ink, _ = _inputs()
    weight = torch.zeros(2, 16, 16, dtype=torch.bool)
    weight[:, :4, :4] = True  # 32 labelled pixels of 512
    alone = masked_loss(logits[..., :4, :4], ink[:, :4, :4], weight[:, :4, :4])
    assert torch.allclose(masked_loss(logits, ink, weight), alone)


def test_dice_weight_scales_the_dice_term():
    logits, ink, weight = _inputs()
    bce, once, twice = (masked_loss(logits, ink, weight, dice_weight=w) for w in (0.0, 1.0, 2.0))
    assert once > bce
    assert torch.allclose(twice - bce, 2 * (once - bce))
