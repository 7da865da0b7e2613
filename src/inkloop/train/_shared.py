"""numpy arrays in one block of shared memory, for the batch worker processes (`_workers`)."""

from __future__ import annotations

import contextlib
import os
import weakref
from multiprocessing import shared_memory

import numpy as np

_ALIGN = 64  # each array starts on a cache line


class SharedArrays:
    """Named numpy arrays laid out in one `SharedMemory` block.

    Pickles as the block's name and layout: a process it is sent to at start-up (spawn)
    attaches to the same memory, so a write on either side is seen by the other. The
    creator removes the block's name when it calls `unlink` or is collected; pages stay
    mapped until every process lets go of them.
    """

    def __init__(self, layout: dict[str, tuple[tuple[int, ...], str]], name: str | None = None):
        self.layout = layout
        offsets, size = {}, 0
        for key, (shape, dtype) in layout.items():
            offsets[key] = size
            size += -(-int(np.prod(shape)) * np.dtype(dtype).itemsize // _ALIGN) * _ALIGN
        self._memory = _Block(name, size or 1)
        self.arrays = {
            key: np.ndarray(shape, dtype, buffer=self._memory.buf, offset=offsets[key])
            for key, (shape, dtype) in layout.items()
        }
        if name is None:  # the creator: the name goes with it, even if close() is never called
            self._finalizer = weakref.finalize(self, _unlink, self._memory)

    @classmethod
    def holding(cls, arrays: dict[str, np.ndarray]) -> SharedArrays:
        """A new block holding copies of ``arrays``."""
        shared = cls({key: (a.shape, a.dtype.str) for key, a in arrays.items()})
        for key, array in arrays.items():
            shared.arrays[key][...] = array
        return shared

    def __getitem__(self, key: str) -> np.ndarray:
        return self.arrays[key]

    def unlink(self) -> None:
        """Remove the block's name (the creator's side); mapped pages stay valid."""
        self._finalizer()

    def __getstate__(self) -> dict:
        return {"layout": self.layout, "name": self._memory.name}

    def __setstate__(self, state: dict) -> None:
        self.__init__(state["layout"], state["name"])


class _Block(shared_memory.SharedMemory):
    """A SharedMemory whose map lives as long as the arrays viewing it: the stock one closes
    its map when collected, which fails (BufferError) while a view of it is still alive."""

    def __init__(self, name: str | None, size: int) -> None:
        super().__init__(name=name, create=name is None, size=size)
        if getattr(self, "_fd", -1) >= 0:  # POSIX: the map keeps its own handle
            os.close(self._fd)
            self._fd = -1

    def __del__(self) -> None:
        pass


def _unlink(memory: shared_memory.SharedMemory) -> None:
    with contextlib.suppress(FileNotFoundError):  # the resource tracker removed it at exit
        memory.unlink()
