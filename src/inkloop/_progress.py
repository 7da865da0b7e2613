"""Progress bars of headless runs, on stderr: redrawn in place on a terminal, and every half
minute (or `$INKLOOP_PROGRESS_S` seconds) where stderr is a file (a cluster job's log),
which keeps every redraw."""

from __future__ import annotations

import math
import os
import sys

from dask.diagnostics import ProgressBar

#: seconds between redraws where stderr is a file or a pipe
LOG_PROGRESS_INTERVAL = 30.0


def progress_interval() -> float:
    """Seconds between redraws: 0.1 on a terminal; elsewhere `$INKLOOP_PROGRESS_S` if it
    is a number of seconds (a log watched closely), else LOG_PROGRESS_INTERVAL."""
    stderr = sys.stderr  # None under pythonw
    if stderr is not None and stderr.isatty():
        return 0.1
    try:
        chosen = float(os.environ.get("INKLOOP_PROGRESS_S", LOG_PROGRESS_INTERVAL))
    except ValueError:
        chosen = LOG_PROGRESS_INTERVAL  # a word where seconds belong: the usual pace
    return chosen if math.isfinite(chosen) and chosen > 0 else LOG_PROGRESS_INTERVAL


def tqdm_pace() -> dict:
    """tqdm's arguments for `progress_interval` (its 10 s maximum would redraw sooner)."""
    interval = progress_interval()
    return {"mininterval": interval, "maxinterval": max(interval, 10.0)}


class PacedProgressBar(ProgressBar):
    """dask's ProgressBar on stderr, redrawn every `progress_interval` s, and at the end.

    Its timer keeps dask's 0.1 s tick (closing the bar waits for the tick in progress, so a
    30 s tick would hold every prediction up to 30 s); only the redraws are spaced.
    """

    def __init__(self) -> None:
        super().__init__(out=sys.stderr)
        self._every, self._drawn = progress_interval(), -math.inf

    def _start(self, dsk) -> None:  # dask's hooks, as its own bar overrides them
        self._every, self._drawn = progress_interval(), -math.inf
        super()._start(dsk)

    def _update_bar(self, elapsed: float) -> None:  # dask's timer calls this every tick
        if elapsed - self._drawn >= self._every:
            self._drawn = elapsed
            super()._update_bar(elapsed)

    def _finish(self, dsk, state, errored) -> None:
        self._every = 0.0  # the last draw, also where an error stopped the work
        super()._finish(dsk, state, errored)
