"""An exponential moving average of the weights being trained: what predictions use."""

from __future__ import annotations


def weight_average(model, decay: float):
    """torch's `AveragedModel` of ``model`` (parameters and BatchNorm statistics) with an EMA
    of ``decay`` that warms up as (1 + n) / (10 + n), so the first averages follow the model.

    Why: small batches on a CPU make the weights of any one step noisy; on the real dev crop
    the best-threshold F0.5 of consecutive checkpoints jumped between 0.09 and 0.23, while the
    average rose steadily (docs/quality.md). The warm-up keeps the preview responsive early on.
    """
    from torch.optim.swa_utils import AveragedModel

    def update(averaged: list, current: list, num_averaged) -> None:
        n = int(num_averaged)
        weight = 1.0 - min(decay, (1 + n) / (10 + n))
        for mean, value in zip(averaged, current, strict=True):
            if mean.is_floating_point():
                mean.lerp_(value, weight)
            else:  # BatchNorm's step counter
                mean.copy_(value)

    average = AveragedModel(model, multi_avg_fn=update, use_buffers=True)
    average.module.eval()
    return average
