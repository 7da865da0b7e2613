"""Forward passes that make room when the GPU runs out of memory, instead of failing.

Whole-segment prediction computes a block per thread, one thread per core, and each block
sends its batches of tiles through the model at once: 16 threads with 8 tiles of 544² each
hold several GB of activations on the GPU, more than a small card has, or than a card
training beside the prediction has free. Out of memory, the gate first lets fewer passes
run at once (half of those running), then, with one pass at a time, halves the tiles a pass
takes. Passes that fail together back off once: a failure lowers the gate only where nothing
lowered it since its pass began. What it learnt holds for the gate's life: a predictor's
own, or an engine session's, shared by all the predictors it builds. A pass that fails alone
with one tile is an error the user can act on.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

import numpy as np

from inkloop._cuda import out_of_memory, release_cached_memory
from inkloop._notify import notify


class ForwardGate:
    """Runs forward passes, as many at once as memory allows (``limit``: None for any
    number), each over at most ``tiles`` tiles (None: the whole batch)."""

    def __init__(self) -> None:
        self._condition = threading.Condition()
        self._running: list[_Pass] = []
        self.limit: int | None = None
        self.tiles: int | None = None

    def run(self, forward: Callable, inputs) -> np.ndarray:
        """``forward(part)`` over ``inputs`` (N, ...) in parts of ``tiles``, concatenated;
        again with less at once after each out-of-memory error."""
        while True:
            this = self._enter()
            try:
                if self.tiles is None or self.tiles >= len(inputs):
                    return forward(inputs)  # the usual case: no copy of what comes back
                return np.concatenate([forward(part) for part in inputs.split(self.tiles)])
            except RuntimeError as error:
                if not out_of_memory(error):
                    raise
                # backed off outside this block: the error's frames hold the pass's tensors
            finally:
                self._leave(this)
            self._back_off(this, len(inputs))
            release_cached_memory()  # the other threads' streams may reuse what this held

    def _enter(self) -> _Pass:
        with self._condition:
            while self.limit is not None and len(self._running) >= self.limit:
                self._condition.wait()
            this = _Pass(under=(self.limit, self.tiles))
            self._running.append(this)
            for running in self._running:  # what each pass shared the device with, at most
                running.beside = max(running.beside, len(self._running))
            return this

    def _leave(self, this: _Pass) -> None:
        with self._condition:
            self._running.remove(this)
            self._condition.notify_all()

    def _back_off(self, failed: _Pass, batch: int) -> None:
        with self._condition:
            if (self.limit, self.tiles) != failed.under:
                return  # another failed pass backed off since this one began: it retries under that
            if failed.beside > 1:  # it ran beside others: let half as many run at once
                self.limit = limit = max(1, failed.beside // 2)
                _tell(f"{limit} forward pass{'es' * (limit > 1)} at a time")
                return
            tiles = self.tiles or batch
            if tiles == 1:
                raise MemoryError(
                    "out of GPU memory predicting a single tile: free the GPU (training "
                    "beside this prediction, other programs) or predict with --device cpu"
                )
            self.limit, self.tiles = 1, tiles // 2
            _tell(f"{self.tiles} tile{'s' * (self.tiles > 1)} a pass, one pass at a time")


class _Pass:
    """One forward pass in flight; ``under``: the gate's (limit, tiles) as it began;
    ``beside``: the most passes in flight during it."""

    def __init__(self, under: tuple[int | None, int | None]) -> None:
        self.under = under
        self.beside = 1


def _tell(what: str) -> None:
    notify(f"out of GPU memory: predicting {what}", stacklevel=4)
