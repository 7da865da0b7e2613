"""What the engine server logs of the connections it closes before they prove they know the
token (`_greetings`).

Anyone who reaches the port can open thousands of those a second: one line each filled a log
at about 1 GB an hour from one local account. So the first `IN_FULL` of every `WINDOW` are
logged one by one, and the rest in one line as the window ends: how many, why and from where.
A dock with a wrong token is among the first, or counted as "no valid token" during a flood.
A client past the handshake is logged in full by the server, always.
"""

from __future__ import annotations

import logging
import math
import time
from collections import Counter

IN_FULL = 10  # connections a window logs one by one
WINDOW = 60.0  # seconds
KEPT = 8  # reasons, and hosts, a summary names; the rest are counted as others
OTHERS = "others"


class RefusalLog:
    """Logs to ``log`` the connections closed before the handshake: `IN_FULL` one by one in
    each `WINDOW`, and then a count (`summarise`)."""

    def __init__(self, log: logging.Logger) -> None:
        self._log = log
        self._window_ends = -math.inf
        self._since = ""  # when the window began, as the clock on the wall says
        self._in_full = 0
        self._reasons: Counter[str] = Counter()  # of those not logged one by one
        self._hosts: Counter[str] = Counter()

    def closed(self, peer: str, why, now: float, *, level=logging.WARNING, exc_info=False):
        """``peer`` ("HOST:PORT") was closed at ``now`` (time.monotonic()) for ``why``;
        ``exc_info``: with the exception being handled, when logged one by one."""
        if not self._log.isEnabledFor(level):
            return  # dropped anyway: neither logged nor counted
        self.summarise(now)
        if now >= self._window_ends:
            self._window_ends, self._in_full = now + WINDOW, 0
            self._since = time.strftime("%H:%M:%S")
        if self._in_full < IN_FULL:
            self._in_full += 1
            self._log.log(level, "engine server: %s closed: %s", peer, why, exc_info=exc_info)
        else:
            _tally(self._reasons, str(why))
            _tally(self._hosts, peer.rpartition(":")[0])

    def summarise(self, now: float) -> float | None:
        """Log the count of the window that has ended by ``now`` (math.inf: whatever is
        counted); when the window ends, if it counts connections, else None."""
        if not self._reasons:
            return None
        if now < self._window_ends:
            return self._window_ends
        self._log.warning(
            "engine server: and %d more connections since %s closed before the handshake "
            "(%d are logged one by one every %g s): %s; from %s",
            self._reasons.total(),
            self._since,
            IN_FULL,
            WINDOW,
            _listed(self._reasons),
            _listed(self._hosts),
        )
        self._reasons.clear()
        self._hosts.clear()
        return None


def _tally(counter: Counter, key: str) -> None:
    """Count ``key``, or `OTHERS` once `KEPT` keys are counted: what a flood of varied
    reasons keeps stays small."""
    counter[key if key in counter or len(counter) < KEPT else OTHERS] += 1


def _listed(counter: Counter) -> str:
    """The keys counted, most first, `OTHERS` last."""
    ranked = sorted(counter.items(), key=lambda kept: (kept[0] == OTHERS, -kept[1]))
    return ", ".join(f"{key} ({count})" for key, count in ranked)
