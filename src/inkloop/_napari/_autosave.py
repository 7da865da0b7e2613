"""Writing painted labels off the GUI thread: autosave at most every few seconds, and Save."""

from __future__ import annotations

import atexit
import logging
import weakref
from concurrent.futures import Future, wait

from qtpy.QtCore import QObject, QTimer

from inkloop._napari._say import say_error, say_info, say_warning
from inkloop.brush import decode_labels
from inkloop.io import label_paths, save_labels, write_label_files

log = logging.getLogger(__name__)
_OPEN: weakref.WeakSet = weakref.WeakSet()  # autosavers not closed yet


@atexit.register
def _flush_at_exit() -> None:
    """An interpreter exiting with a viewer open (a script's end, IPython's exit) never
    hides the dock: its last strokes are written here."""
    for autosaver in list(_OPEN):
        try:
            autosaver.flush()
        except Exception:  # the next segment's strokes still get their turn
            log.exception("writing the last strokes at exit failed")


class Autosaver(QObject):
    """Writes ``painter``'s labels to the segment's ``*.autosave.png`` files once they changed.

    A timer checks every ``interval_s`` seconds; the labels are decoded, encoded and written
    on the label worker (``worker``, a `LabelWorker`: its mirror of the codes, so nothing is
    copied on the GUI thread), each file atomically, so a crash loses at most the last
    interval of painting and never leaves a half-written file; the last write, as the dock
    hides or the interpreter exits (`flush`), runs on the calling thread. `save` (Save
    labels) writes on the same worker, after any autosave in flight, and removes the
    autosave copies it makes stale: an autosave copy on disk always holds strokes no Save has.
    """

    def __init__(self, segment, painter, worker, interval_s: float = 10.0, parent=None) -> None:
        super().__init__(parent)
        self.segment, self.painter, self.worker = segment, painter, worker
        self._dirty = self._failing = False
        self._writing: Future | None = None  # the last autosave
        self._saving: Future | None = None  # the last Save
        painter.labels_changed.connect(self.mark_changed)
        self._timer = QTimer(self)
        self._timer.setInterval(int(interval_s * 1000))
        self._timer.timeout.connect(self.save_if_changed)
        self._timer.start()
        _OPEN.add(self)

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
        self._writing = self.worker.submit(self._write)
        return self._writing

    def save(self) -> Future:
        """Write the labels as they are now as the segment's label files (Save labels); the
        Future's result is their two paths, and a notification says how it went. The worker's
        mirror catches up with the canvas first: changes the painter never reported, written
        into the layer's data by a script, are saved too."""
        self._dirty = False  # the autosave copies go with this save
        self.worker.catch_up()
        self._saving = self.worker.submit(self._save, done=self._report_save)
        return self._saving

    def flush(self) -> None:
        """Wait for the writes under way (the worker runs them in order), then write what
        changed on this thread: the viewer is closing or the segment opens again, or the
        interpreter is exiting with the viewer open, when executors take no more work."""
        wait([f for f in (self._writing, self._saving) if f is not None])
        if self._saving is not None and self._saving.exception() is not None:
            self._dirty = True  # a Save that failed: its strokes go to the autosave copies
        self._report(self._writing)
        unreported = self._unreported_changes()  # the mirror gets them, for later autosaves
        if self._dirty or unreported:
            self._dirty = False
            self._writing = Future()
            try:
                self._write(self.painter.canvas.codes)
                self._writing.set_result(None)
            except Exception as error:  # reported (and retried) as any autosave's failure
                self._writing.set_exception(error)
            self._report(self._writing)

    def close(self) -> None:
        """Write what is left, wait for it, and stop."""
        _OPEN.discard(self)
        self._timer.stop()
        self.painter.labels_changed.disconnect(self.mark_changed)
        self.flush()

    def _unreported_changes(self) -> bool:
        """Whether the codes differed from the worker's mirror (a script wrote into the
        layer's data; no stroke said so), which has them now."""
        return self.worker.catch_up().result()

    def mark_changed(self, box=None) -> None:
        """Have the next tick write the labels: changed inside ``box`` (the painter's report),
        or painted before this autosaver began (None)."""
        self._dirty = True

    def _write(self, codes) -> None:
        """Write the autosave copies of ``codes`` (the segment's own canvas, of its size),
        fast: they are written every few seconds while painting and read only after a crash."""
        ink_path = label_paths(self.segment, autosave=True)[0]
        write_label_files(ink_path, *decode_labels(codes), fast=True)

    def _save(self, codes):
        ink, supervised = decode_labels(codes)
        paths = save_labels(self.segment, ink, supervised)
        for stale in label_paths(self.segment, autosave=True):
            stale.unlink(missing_ok=True)
        return paths

    def _report_save(self, writing: Future) -> None:
        error = writing.exception()
        if error is None:
            ink_path, supervision_path = writing.result()
            say_info(f"Saved {ink_path.name} and {supervision_path.name} in {ink_path.parent}")
            return
        self._dirty = True  # the autosave copies are all there is
        log.error("saving labels failed", exc_info=error)
        say_error(f"Could not save the labels: {error}")

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
            say_warning(f"Autosave of the ink labels failed: {error}. Use 'Save labels'.")
