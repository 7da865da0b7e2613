"""The model's forward and backward pass as CUDA graphs, replayed each training step.

A training step of the default model on 8 patches of 64² took ~20 ms on an H200 (2026-11-28,
docs/gpu_check.json: a ceiling of 392 patches/s), nearly all of it Python and kernel launches
for a GPU that had finished each kernel long before the next arrived. A CUDA graph launches a
whole recorded pass at once. torch's `make_graphed_callables` records the model's forward and
backward (the loss, the optimiser and the weight average stay outside, a few dozen launches);
a new batch shape (the batch halved after an out-of-memory error) records them again.
Opt-in (``TrainConfig.cuda_graphs``, ``--cuda-graphs``) until a GPU has measured it.
"""

from __future__ import annotations

import contextlib

from inkloop._cuda import out_of_memory


class GraphedForward:
    """``model(inputs)`` under autocast to ``dtype`` (None: float32), from CUDA graphs recorded
    for the shape of ``inputs`` the first time it is seen. The output is the graph's own
    tensor, overwritten by the next call: use it (loss, backward) before then."""

    def __init__(self, model, dtype) -> None:
        self.model, self.dtype = model, dtype
        self.shape = None  # of the inputs the graphs were recorded for
        self._replay = None

    def __call__(self, inputs):
        if inputs.shape != self.shape:
            self.release()
            self._record(inputs)
        with self._autocast():
            return self._replay(inputs)  # the model's own forward where it is not training

    def release(self) -> None:
        """Drop the graphs and return their memory to the allocator."""
        import gc

        if self._replay is None:
            return
        self._replay, self.shape = None, None
        # the graphs live in a class torch defines per recording, which only the cycle
        # collector frees: without it an out-of-memory halving would keep the old pool
        gc.collect()

    def _record(self, inputs) -> None:
        import torch

        # the warm-up passes torch runs before recording update BatchNorm statistics: undone
        buffers = list(self.model.buffers())
        kept = [buffer.clone() for buffer in buffers]
        try:
            # torch records on a side stream of the current GPU: make that the inputs' (cuda:N)
            with torch.cuda.device(inputs.device), self._autocast():
                torch.cuda.make_graphed_callables(self.model, (inputs.clone(),))
        except RuntimeError as error:  # a failed capture wraps an out-of-memory error
            cause = error.__cause__ or error.__context__
            if cause is not None and out_of_memory(cause):
                raise cause from error
            raise
        finally:
            torch._foreach_copy_(buffers, kept)
        # taken off the model, so that no copy of it (a weight average, a deepcopy to
        # predict with) shares the closure that replays this model's training graph
        self._replay = self.model.__dict__.pop("forward")
        self.shape = inputs.shape

    def _autocast(self):
        import torch

        if self.dtype is None:
            return contextlib.nullcontext()
        # recorded kernels read the weights' low-precision copies, made inside the graph
        return torch.autocast("cuda", dtype=self.dtype, cache_enabled=False)
