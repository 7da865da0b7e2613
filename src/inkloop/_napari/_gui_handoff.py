"""Work done on another thread, continued on napari's GUI thread."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Future

from qtpy.QtCore import QObject, Qt, Signal


class GuiHandoff(QObject):
    """Hands a Future, once done on whichever thread, to ``then(future)`` on the GUI thread
    (the thread this is made on). Queued even from the GUI thread (a job done before its
    submit returned): the caller has kept its Future by the time ``then`` hears of it."""

    _done = Signal(object, object)  # (a Future, its then): emitted anywhere, handled on GUI

    def __init__(self) -> None:
        super().__init__()
        self._done.connect(_call, Qt.ConnectionType.QueuedConnection)

    def when_done(self, future: Future, then: Callable[[Future], None]) -> None:
        """Call ``then(future)`` on the GUI thread once ``future`` is done."""
        future.add_done_callback(lambda future: self._done.emit(future, then))


def _call(future: Future, then: Callable[[Future], None]) -> None:
    then(future)
