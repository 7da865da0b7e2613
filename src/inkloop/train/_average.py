"""An exponential moving average of the weights being trained: what predictions use."""

from __future__ import annotations


def weight_average(model, decay: float):
    """torch's `AveragedModel` of ``model`` (parameters and BatchNorm statistics) with an EMA
    of ``decay`` that warms up as (1 + n) / (10 + n), so the first averages follow the model.

    Why: small batches on a CPU make the weights of any one step noisy; on the real dev crop
    the best-threshold F0.5 of consecutive checkpoints jumped between 0.09 and 0.23, while the
    average rose steadily (docs/quality.md). The warm-up keeps the preview responsive early on.
    """
    import torch
    from torch.optim.swa_utils import AveragedModel

    def update(averaged: list, current: list, _num_averaged) -> None:
        # called once per dtype; ``_num_averaged`` is a copy on the weights' device, and
        # reading it would wait for the GPU every step: the count on the host is the same
        if not averaged[0].is_floating_point():  # BatchNorm's step counters
            torch._foreach_copy_(averaged, current)
            return
        n = int(average.n_averaged)
        # one multi-tensor kernel for all ~200 tensors, as torch's own EMA helper does
        torch._foreach_lerp_(averaged, current, 1.0 - min(decay, (1 + n) / (10 + n)))

    average = AveragedModel(model, multi_avg_fn=update, use_buffers=True)
    average.module.eval()
    return average
