"""torch's CPU thread count: one setting for the whole process, which Trainers and
`all_cores` take for a while, possibly overlapping, and give back in any order."""

from __future__ import annotations

import contextlib
import threading

from inkloop._cpus import usable_cpus

_SHARE: list[int] = []  # the cores `all_cores` may take, if this process has only a share


def share_cores(count: int) -> None:
    """From now on `all_cores` takes at most ``count`` cores: this process (an engine server's
    engine) has only a share of the machine's."""
    _SHARE[:] = [max(1, count)]


@contextlib.contextmanager
def all_cores():
    """torch on every CPU core (of this process's share) for a moment: the engine otherwise
    leaves one to a GUI, but a user who just clicked or panned waits for the next tile while
    the GUI idles."""
    import torch

    cores = min([usable_cpus(), *_SHARE])
    threads = TorchThreads(max(torch.get_num_threads(), cores))
    threads.take()
    try:
        yield
    finally:
        threads.give_back()


class TorchThreads:
    """torch's CPU thread count set to ``count`` (None: left as it is) from `take` to
    `give_back`. torch keeps it for the whole process: threads started meanwhile use it too.
    Takers may overlap (two Trainers, a Trainer and `all_cores`) and give back in any order:
    the newest still holding it keeps its count, and the last one out restores the count
    before the first (`_HOLDERS`)."""

    def __init__(self, count: int | None) -> None:
        self.count = count

    def take(self) -> None:
        """Set it (again, after `give_back` or after another taker changed it)."""
        import torch

        if not self.count:
            return
        with _HOLDERS.lock:
            if not _HOLDERS.takers:
                _HOLDERS.before = torch.get_num_threads()
            if self not in _HOLDERS.takers:
                _HOLDERS.takers.append(self)
            if torch.get_num_threads() != self.count:
                torch.set_num_threads(self.count)

    def give_back(self) -> None:
        """Hand it to the newest taker still holding it, or put back the count before all."""
        import torch

        with _HOLDERS.lock:
            if self not in _HOLDERS.takers:
                return
            takers = _HOLDERS.takers
            takers.remove(self)
            torch.set_num_threads(takers[-1].count if takers else _HOLDERS.before)


class _Holders:
    """The one record of who holds torch's thread count: its takers, oldest first, and the
    count before the first of them."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.takers: list[TorchThreads] = []
        self.before = 0


_HOLDERS = _Holders()
