"""An exponential moving average of the weights being trained: what predictions use."""

from __future__ import annotations

import copy


class WeightAverage:
    """An EMA of ``model``'s parameters and floating-point buffers (BatchNorm statistics) with
    ``decay``, warming up as (1 + n) / (10 + n) so that the first averages follow the model;
    integer buffers (BatchNorm's step counters) are copied. ``module`` is the average, in
    eval mode.

    Why: small batches on a CPU make the weights of any one step noisy; on the real dev crop
    the best-threshold F0.5 of consecutive checkpoints jumped between 0.09 and 0.23, while the
    average rose steadily (docs/quality.md). The warm-up keeps the preview responsive early on.

    Written here rather than taken from torch's `AveragedModel`, whose update copies its
    count onto the GPU twice a step: two waits for the GPU in a step that needs none.
    """

    def __init__(self, model, decay: float) -> None:
        self.module = copy.deepcopy(model).eval()
        self.decay = decay
        self.updates = 0  # on the host: nothing here waits for the device

    def update(self, model) -> None:
        """Move the average towards ``model``'s current weights (the first update copies)."""
        import torch

        (averaged, counters), (current, steps) = _split(self.module), _split(model)
        n = self.updates
        if n == 0:
            torch._foreach_copy_(averaged, current)
        else:  # one multi-tensor kernel for all ~200 tensors, as torch's own EMA helper
            torch._foreach_lerp_(averaged, current, 1.0 - min(self.decay, (1 + n) / (10 + n)))
        if counters:  # a model without BatchNorm has none
            torch._foreach_copy_(counters, steps)
        self.updates += 1


def _split(model) -> tuple[list, list]:
    """``model``'s parameters and buffers, detached: the floating-point ones, the others."""
    floats, integers = [], []
    for tensor in (*model.parameters(), *model.buffers()):
        (floats if tensor.is_floating_point() else integers).append(tensor.detach())
    return floats, integers
