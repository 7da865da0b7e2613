"""inkloop's own warnings: what a user should hear once while the work goes on (a prediction
making room on a full GPU, a faster graph that could not be built).

On a terminal they print on stderr as any warning; the engine process under napari forwards
them to the dock as Notices (`inkloop.engine._child`), where the user is looking.
"""

from __future__ import annotations

import sys
import warnings
from collections.abc import Hashable
from contextlib import contextmanager


class InkloopWarning(RuntimeWarning):
    """Something the user should hear once; the work goes on."""


def notify(message: str, stacklevel: int = 1) -> None:
    """Warn ``message`` as an InkloopWarning; ``stacklevel`` as `warnings.warn`'s, counted
    from notify's caller (1: the line calling notify)."""
    warnings.warn(message, InkloopWarning, stacklevel=stacklevel + 1)


def notify_once(told: set, key: Hashable, message: str) -> None:
    """`notify` ``message`` unless ``key`` is in ``told`` already, then note it there: once
    per key (a URL, a folder) for as long as ``told`` lives."""
    if key not in told:
        told.add(key)
        notify(message, stacklevel=2)


@contextmanager
def said_as(command: str):
    """Within it InkloopWarnings print on stderr as one line, ``inkloop COMMAND: message``,
    each message once: a terminal user reads no source line or code. Other warnings print
    as Python prints them."""
    shown: set[str] = set()
    with warnings.catch_warnings():
        default = warnings.showwarning

        def show(message, category, filename, lineno, file=None, line=None):
            if not issubclass(category, InkloopWarning):
                return default(message, category, filename, lineno, file, line)
            if str(message) not in shown:
                shown.add(str(message))
                print(f"inkloop {command}: {message}", file=sys.stderr, flush=True)

        warnings.showwarning = show
        yield
