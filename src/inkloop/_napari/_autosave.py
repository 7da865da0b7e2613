"""Autosave of painted labels: at most every few seconds, written off the GUI thread."""

from __future__ import annotations

import logging
from concurrent.futures import Future, ThreadPoolExecutor, wait

from napari.utils.notifications import show_warning
from qtpy.QtCore import QObject, QTimer

from inkloop.brush import decode_labels
from inkloop.io import save_labels

log = logging.getLogger(__name__)


class Autosaver(QObject):
    """Writes ``painter``'s labels to the segment's ``*.autosave.png`` files once they changed.

    A timer checks every ``interval_s`` seconds; the labels are copied on the GUI thread (a
    memcpy) and encoded and written on a worker thread, each file atomically, so a crash loses
    at most the last interval of painting and never leaves a half-written file.
    """

    def __init__(self, segment, painter, interval_s: float = 10.0, parent=None) -> None:
        super().__init__(parent)
        self.segment, self.painter = segment, painter
        self._dirty = self._failing = False
        self._writing: Future | None = None
        self._executor = ThreadPoolExecutor(1, thread_name_prefix="inkloop-autosave")
        painter.labels_changed.connect(self._mark_dirty)
        self._timer = QTimer(self)
        self._timer.setInterval(int(interval_s * 1000))
        self._timer.timeout.connect(self.save_if_changed)
        self._timer.start()

    @property
    def interval_s(self) -> float:
        return self._timer.interval() / 1000

    @interval_s.setter
    def interval_s(self, seconds: float) -> None:
        self._timer.setInterval(int(seconds * 1000))

    def save_if_changed(self) -> Future | None:
        """Start writing the labels if they changed since the last autosave."""
        self._report(self._writing)
        if not self._dirty or (self._writing is not None and not self._writing.done()):
            return None
        self._dirty = False
        codes = self.painter.canvas.codes.copy()
        self._writing = self._executor.submit(self._write, codes)
        return self._writing

    def flush(self) -> None:
        """Write what changed now and wait for it (the viewer is closing)."""
        if self._writing is not None:
            wait([self._writing])
        writing = self.save_if_changed()
        if writing is not None:
            wait([writing])
        self._report(self._writing)

    def close(self) -> None:
        """Write what is left, wait for it, and stop."""
        self._timer.stop()
        self.painter.labels_changed.disconnect(self._mark_dirty)
        self.flush()
        self._executor.shutdown(wait=True)

    def _mark_dirty(self, box) -> None:
        self._dirty = True

    def _write(self, codes) -> None:
        ink, supervised = decode_labels(codes)
        save_labels(self.segment, ink, supervised, autosave=True)

    def _report(self, writing: Future | None) -> None:
        """Warn once about failing writes (on the GUI thread); painting goes on, retries too."""
        if writing is None or not writing.done():
            return
        self._writing = None
        error = writing.exception()
        if error is None:
            self._failing = False
            return
        self._dirty = True
        log.error("inkloop autosave failed", exc_info=error)
        if not self._failing:
            self._failing = True
            show_warning(f"Autosave of the ink labels failed: {error}. Use 'Save labels'.")
