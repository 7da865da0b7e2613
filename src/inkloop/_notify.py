"""inkloop's own warnings: what a user should hear once while the work goes on (a prediction
making room on a full GPU, a faster graph that could not be built).

On a terminal they print on stderr as any warning; the engine process under napari forwards
them to the dock as Notices (`inkloop.engine._child`), where the user is looking.
"""

from __future__ import annotations

import warnings


class InkloopWarning(RuntimeWarning):
    """Something the user should hear once; the work goes on."""


def notify(message: str, stacklevel: int = 1) -> None:
    """Warn ``message`` as an InkloopWarning; ``stacklevel`` as `warnings.warn`'s, counted
    from notify's caller (1: the line calling notify)."""
    warnings.warn(message, InkloopWarning, stacklevel=stacklevel + 1)
