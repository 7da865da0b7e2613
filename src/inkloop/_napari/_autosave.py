"""Writing painted labels off the GUI thread: autosave at most every few seconds, and Save.
Strokes the segment's folder refuses (a full disk, a read-only or lost share) are kept in a
rescue folder that takes them (`inkloop.io._autosaved.rescue_folders`: the next opening finds
them), and the notices say where."""

from __future__ import annotations

import atexit
import logging
import weakref
from concurrent.futures import Future, wait
from pathlib import Path

from qtpy.QtCore import QObject, QTimer, Signal

from inkloop._napari._autosave_rescue import reason, remove_if_empty, write_elsewhere
from inkloop._napari._autosave_words import kept_message, lost_message, way_out_of_refusal
from inkloop._napari._label_claims import finish_all_closing, wait_turning
from inkloop._napari._say import say_error, say_info, say_warning
from inkloop.brush import decode_labels
from inkloop.io import label_paths, save_labels, supervision_path_for, write_label_files

log = logging.getLogger(__name__)
_OPEN: weakref.WeakSet = weakref.WeakSet()  # autosavers not closed yet


@atexit.register
def _flush_at_exit() -> None:
    """An interpreter exiting with a viewer open (a script's end, IPython's exit) never
    hides the dock: its last strokes are written here."""
    finish_all_closing()  # segments switched away from: written, or said
    for autosaver in list(_OPEN):
        try:
            autosaver.flush()
        except Exception:  # the next segment's strokes still get their turn
            log.exception("writing the last strokes at exit failed")


def start_flushes(autosavers, closing=False) -> list[tuple]:
    """Start the writes of `Autosaver.flush` of each of ``autosavers`` (turning), each on its
    session's label worker, before any is awaited (a quit writes its windows' strokes side
    by side), the autosave timers held (no tick reports them): (autosaver, its write or
    None) for each; `finish_flushes` waits for them."""
    started = [(autosaver, autosaver.start_flush(closing)) for autosaver in autosavers]
    for autosaver, last in started:
        if last is not None:
            autosaver._hold_ticks(True)
    return started


def finish_flushes(started, closing=False, final=True) -> list[str | None]:
    """Wait for the writes ``started`` (`start_flushes`) with Qt's events turning
    (`wait_turning`), and say how each went; what each flush returns, in order."""
    writes = [(autosaver, last) for autosaver, last in started if last is not None]
    wait_turning([(autosaver.segment.name, last) for autosaver, last in writes], closing)
    for autosaver, _ in writes:
        autosaver._hold_ticks(False)
    return [None if last is None else a.report_last(last, closing, final) for a, last in started]


class Autosaver(QObject):
    """Writes ``painter``'s labels to the segment's ``*.autosave.png`` files once they changed.

    A timer checks every ``interval_s`` seconds; the labels are decoded, encoded and written on
    the label worker (``worker``, a `LabelWorker`: its mirror of the codes, so nothing is copied
    on the GUI thread), each file atomically, so a crash loses at most the last interval of
    painting and never leaves a half-written file; the last write runs there too (`close`,
    `flush`: a segment switch, the window closing, the dock hiding), and on the calling thread
    only as the interpreter exits. `save` (Save labels) writes on the same worker, after any
    autosave in flight, and removes the autosave copies it makes stale: an autosave copy on disk
    always holds strokes no Save has. Copies the segment's folder refuses go to a rescue folder
    (`rescue_targets`), and each tick tries the segment's folder again; once it takes them, the
    rescued copies this autosaver wrote go (never an earlier session's, which the opening
    restored or passed over for newer files beside the segment). ``storage``: where strokes no
    file beside the segment holds are, and the way out ("" if none; ``storage_changed``).
    """

    storage_changed = Signal(str)

    def __init__(self, segment, painter, worker, interval_s: float = 10.0, parent=None) -> None:
        super().__init__(parent)
        self.segment, self.painter, self.worker = segment, painter, worker
        self._dirty = False  # strokes that no file holds
        self._kept: Path | None = None  # the rescued ink copy holding strokes the folder lacks
        self._rescued: set[Path] = set()  # the rescued ink copies it wrote (on the worker)
        self._told: Path | str | None = None  # where the user was told the strokes are
        self.storage, self._refused = "", False  # a close refused for the strokes not written
        self._writing = self._saving = None  # the last autosave, the last Save (Futures)
        painter.labels_changed.connect(self.mark_changed)
        self._timer = QTimer(self, interval=int(interval_s * 1000), timeout=self.save_if_changed)
        self._timer.start()
        _OPEN.add(self)

    @property
    def interval_s(self) -> float:
        return self._timer.interval() / 1000

    @interval_s.setter
    def interval_s(self, seconds: float) -> None:
        self._timer.setInterval(int(seconds * 1000))

    def save_if_changed(self) -> Future | None:
        """Start writing the labels if they changed since the last autosave, or if the last
        ones went to a rescue folder (the segment's folder is tried again)."""
        self._report(self._writing)
        busy = self._writing is not None and not self._writing.done()
        if busy or not (self._dirty or self._kept):
            return None
        rescue, self._dirty = self._dirty, False
        self._writing = self.worker.submit(lambda codes: self._write(codes, rescue))
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

    def flush(self, closing=False, turning=False, final=True) -> str | None:
        """Write what changed on the label worker, after the writes under way, and wait for
        it (``turning``: with Qt's events turning, `finish_flushes`); here where the worker
        takes no more work (interpreter exit). Then say where the strokes are kept, if not
        beside the segment: as the last strokes (``final``), or as an autosave does (a hide,
        an opening again: painting goes on). ``closing`` (the window's close begins): where
        no folder takes them, return why it should stay open, unsaid; once, until painted
        again."""
        if turning:
            return finish_flushes(start_flushes([self], closing), closing, final)[0]
        last = self.start_flush(closing)
        if last is None:
            return None
        wait([last])
        return self.report_last(last, closing, final)

    def start_flush(self, closing: bool = False) -> Future | None:
        """Start `flush`'s write (None: ``closing``, refused for these strokes already)."""
        if closing and self._refused:
            return None
        last = self._write_last(self._dirty)
        self._dirty = False
        return last

    def _hold_ticks(self, held: bool) -> None:
        """Stop the autosave timer while a last write is awaited with events turning (no tick
        reports it before `flush` does), or start it again unless closed meanwhile."""
        if held:
            self._timer.stop()
        elif self in _OPEN:
            self._timer.start()

    def close(self) -> Future:
        """Stop, and write what is left on the label worker, after its jobs: the Future of
        that write (its result None: nothing to write); `report_last` says how it went."""
        _OPEN.discard(self)
        self._timer.stop()
        self.painter.labels_changed.disconnect(self.mark_changed)
        return self._write_last(self._dirty)

    def _write_last(self, dirty: bool) -> Future:
        """The Future of `_last` on the label worker, after its jobs; done here where the
        worker takes no more (interpreter exit: the mirror caught up here)."""
        earlier = (self._writing, self._saving)
        unreported = self.worker.catch_up()  # changes no stroke reported, in the mirror first
        try:
            return self.worker.submit(lambda codes: self._last(codes, dirty, unreported, earlier))
        except RuntimeError:  # "cannot schedule new futures after interpreter shutdown"
            written, codes = Future(), self.painter.canvas.codes
            try:
                written.set_result(self._last(codes, dirty, unreported, earlier))
            except Exception as error:  # reported (and retried) as any autosave's failure
                written.set_exception(error)
            return written

    def report_last(self, last: Future, closing=False, final=True) -> str | None:
        """Say (GUI thread) where the last write (`close`, `flush`) put the strokes, if not
        beside the segment, as the writes before it did (``closing``: as `flush`); as the
        last strokes, every time, where ``final``, else once, as an autosave."""
        self._report(self._writing, quiet=True)  # the last write says how it ends
        if last.done() and (last.exception() is not None or last.result() is not None):
            return self._report(last, last=final, closing=closing)
        return None

    def _last(self, codes, dirty: bool, unreported: Future, earlier) -> tuple | None:
        """(worker) `_write` ``codes`` if any strokes may be in no file (None if none): new
        ones (``dirty``, ``unreported``; the writes ``earlier``, autosave and Save, failed),
        or the last write went to a rescue folder (the segment's folder is tried again)."""
        wait([f for f in earlier if f is not None])  # done on the worker; at exit, perhaps not
        failed = any(f is not None and f.exception() is not None for f in earlier)
        fresh = dirty or unreported.result() or failed
        writing = earlier[0]
        rescued = writing is not None and not failed and writing.result()[1] is not None
        if fresh or rescued or self._kept:
            return self._write(codes, rescue=fresh)
        return None

    def mark_changed(self, box=None) -> None:
        """Have the next tick write the labels: changed inside ``box`` (the painter's report),
        or painted before this autosaver began (None)."""
        self._dirty, self._refused = True, False  # a close would lose these: asked again

    def _write(self, codes, rescue: bool = True) -> tuple[Path | None, OSError | None]:
        """Write the autosave copies of ``codes`` (the segment's own canvas, of its size),
        fast: they are written every few seconds while painting and read only after a crash.
        Where the segment's folder refuses them, to the first rescue folder that takes them
        (unless not ``rescue``: the rescued copy holds these codes). Returns where the ink
        went (None: nowhere new) and the folder's refusal (None: the copies are beside the
        segment, and the rescued copies it wrote, older now, are removed); raises the
        refusal if no folder took them."""
        ink_path = label_paths(self.segment, autosave=True)[0]
        labels = decode_labels(codes)
        try:
            write_label_files(ink_path, *labels, fast=True)
        except OSError as refused:
            if not rescue:
                return None, refused
            kept = write_elsewhere(self.segment, ink_path.name, labels, refused)
            self._rescued.add(kept)
            return kept, refused
        self._forget_rescued()
        return ink_path, None

    def _save(self, codes):
        ink, supervised = decode_labels(codes)
        paths = save_labels(self.segment, ink, supervised)
        for stale in label_paths(self.segment, autosave=True):
            stale.unlink(missing_ok=True)
        self._forget_rescued()
        return paths

    def _forget_rescued(self) -> None:
        """Remove the rescued copies this autosaver wrote (the segment's folder holds newer
        labels now) and the rescue folders they leave empty."""
        for ink_path in self._rescued:
            for path in (ink_path, supervision_path_for(ink_path)):
                path.unlink(missing_ok=True)
            remove_if_empty(ink_path.parent)
        self._rescued.clear()

    def _report_save(self, writing: Future) -> None:
        error = writing.exception()
        if error is None:
            self._kept, self._told, self._refused = None, None, False  # the Save holds them
            self._note("")
            ink_path, supervision_path = writing.result()
            say_info(f"Saved {ink_path.name} and {supervision_path.name} in {ink_path.parent}")
            return
        self._dirty = True  # the autosave copies are all there is
        log.error("saving labels failed", exc_info=error)
        refused = isinstance(error, OSError)
        way_out = f". {way_out_of_refusal(self.segment, error)}" if refused else ""
        say_error(f"Could not save the labels: {reason(error) if way_out else error}{way_out}")

    def _report(self, writing: Future | None, *, last=False, quiet=False, closing=False):
        """Say where the strokes went when that changes (on the GUI thread), or at the
        ``last`` write; ``quiet``: no warning (a write follows that says it); ``closing``:
        strokes no folder took are not said but returned. Painting goes on, retries too."""
        if writing is None or not writing.done():
            return
        self._writing = None
        error = writing.exception()
        if error is not None:
            self._dirty = True
            log.error("inkloop autosave failed", exc_info=error)
            self._note(lost_message(self.segment, error, last=False))
            if closing:
                self._refused = True
                return self.storage
            if not quiet and (last or self._told != "nowhere"):
                self._told = "nowhere"
                (say_error if last else say_warning)(lost_message(self.segment, error, last))
            return
        where, refused = writing.result()
        self._refused = False  # written: a close is asked again for later strokes
        if refused is None:
            if self._told is not None:
                say_info(f"Autosave writes to {where.parent} again")
            self._kept = self._told = None
            self._note("")
            return
        self._kept = where or self._kept
        if self._kept is None:  # a Save since holds these strokes
            return
        log.error("inkloop autosave refused: kept in %s", self._kept, exc_info=refused)
        self._note(kept_message(self.segment, self._kept, refused, last=False))
        if not quiet and (last or self._told != self._kept.parent):
            self._told = self._kept.parent
            say_warning(kept_message(self.segment, self._kept, refused, last))

    def _note(self, storage: str) -> None:
        if storage != self.storage:
            self.storage = storage
            self.storage_changed.emit(storage)
