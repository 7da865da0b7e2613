"""The soft labels of one open segment: painting, autosave, saving and loading files."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Future
from pathlib import Path

import numpy as np
from napari.qt.threading import create_worker
from psygnal import Signal
from qtpy.QtCore import QTimer

from inkloop._napari._autosave import Autosaver
from inkloop._napari._label_claims import (
    PAINTING,
    STAMP_KEY,
    UNWRITTEN_KEY,
    SavesNothing,
    claim_labels,
    finish_closing,
    label_files_now,
    let_go_of_labels,
    let_go_once_written,
    save_selected_layers,
    way_out,
)
from inkloop._napari._label_worker import LabelWorker
from inkloop._napari._labels import LOAD_PREDICTION_ACTION
from inkloop._napari._painter import InkPainter
from inkloop._napari._private import show_labels_box
from inkloop._napari._say import say_failed, say_info, say_warning
from inkloop.brush import (
    FULL_INK,
    UNLABELLED,
    decode_labels,
    encode_labels,
    foreign_codes,
    pixels_at,
)
from inkloop.io import load_labels, probability_map_message
from inkloop.io._labels import saved_labels
from inkloop.io._torn_labels import TornPairError


class LabelSession:
    """Paints ``layer`` (the segment's "ink labels") and keeps its files up to date.

    ``loading_changed`` says when a file read off the GUI thread (`load_in_background`)
    starts and stops being read: the dock offers one such load at a time.

    The segment's labels are claimed for this process (`claim_labels`). Where another
    process or another viewer of this one holds them (or wrote them as the reader read them),
    ``elsewhere`` says so, once, and this session writes no label files (a Save would replace
    what the other window saved since, and delete its autosave copies): no autosave, and Save
    is refused with that message; its strokes can be saved under another name. Each
    autosave tick and Save claims them again (`claim_again`).

    ``storage`` says, until they are written beside the segment again, where strokes are
    that no file there holds, or that this window saves none ("" otherwise); ``storage_changed``.
    """

    loading_changed = Signal(bool)
    storage_changed = Signal(str)

    def __init__(self, layer, segment, autosave_s: float = 10.0) -> None:
        finish_closing(segment)  # its last session's strokes on disk, and its stamp on layer
        self.layer, self.segment = layer, segment
        self.painter = InkPainter(layer)
        codes, self.storage = self.painter.canvas.codes, ""
        unlabelled = holds_labels(codes) and self._unlabel_foreign_codes()
        #: no pixel was labelled when painting began: nothing to scan for what they teach,
        #: and an engine waits for the first stroke
        self.blank = not holds_labels(codes)
        self.worker = LabelWorker(self.painter.canvas, self.blank)  # the codes, off the GUI
        # first: whatever a change starts (an engine, at the first stroke) reads the mirror
        self.painter.labels_changed.connect(self.worker.update, priority=1)
        self.autosave_s = autosave_s
        # as the reader read them (stamped first) or the last session here left them; taken,
        found = layer.metadata.pop(STAMP_KEY, False)  # not copied (Duplicate Layer) meanwhile
        self._found = label_files_now(segment) if found is False else found  # a script's: now
        self.elsewhere = claim_labels(segment, layer)  # None: this session may write them
        if self.elsewhere is None and self._found != label_files_now(segment):
            let_go_of_labels(segment)  # its labels are older than the files: it never writes
            self._found, written = None, "were written by another window since this one read them"
            self.elsewhere = f"the labels of {segment.name} {written}"  # for good
        if self.elsewhere is None:
            self._autosave_here()
        else:
            say_warning(
                f"{self.elsewhere}: this window neither autosaves nor saves them, as "
                f"that would overwrite that window's; {way_out(segment)}"
            )
            why = f"{self.elsewhere}, whose labels a save here would overwrite; {way_out(segment)}"
            self.autosaver = SavesNothing(why, self.painter, self._autosave_if_claimed, autosave_s)
            self._note_storage(f"Not saved by this window: {why}")
        unwritten = layer.metadata.pop(UNWRITTEN_KEY, False)  # its last session's write failed
        if unlabelled or unwritten:  # the layer holds labels that no file does
            self.autosaver.mark_changed()
        self.closed = False
        self._loads = 0  # read off the GUI thread now
        PAINTING.add(self)

    @property
    def loading(self) -> bool:
        """A file is being read by `load_in_background`."""
        return self._loads > 0

    def labels(self):
        """Ink (uint8) and supervision (bool) as they are now (decoded copies)."""
        return decode_labels(self.painter.canvas.codes)

    def save(self) -> Future:
        """Write ``<id>_inklabels.png`` and ``<id>_supervision_mask.png`` beside the segment,
        off the GUI thread (seconds for a whole segment); the Future's result is their paths.
        Labels held elsewhere are claimed again first: refused if they still are."""
        self.claim_again(warn=False)  # a refusal says why
        return self.autosaver.save()

    def claim_again(self, warn: bool = True) -> bool:
        """Take over the labels held elsewhere when this session began, once that window let
        go (it closed them, or its process ended: the system frees a dead process's lock), if
        their files are as this session found them; said once. Files written since hold that
        window's last strokes, which a save here would undo: then never (with a warning if
        ``warn``). Whether this session may write the labels now."""
        if self.elsewhere is None:
            return True
        if self.closed or self._found is None or claim_labels(self.segment, self.layer):
            return False
        name, refusing = self.segment.name, self.autosaver
        if label_files_now(self.segment) != self._found:
            let_go_of_labels(self.segment)  # this session writes nothing: nothing to hold
            self._found = None  # they stay another window's: no more claims
            refusing.why = (
                f"the labels of {name} were written by another window after this one opened "
                "them, and a save here would undo that; save this layer under another name "
                f"({save_selected_layers()}), or open {name} again here to paint from them"
            )
            self._note_storage(f"Not saved by this window: {refusing.why}")
            refusing.close()
            if warn:
                say_warning(refusing.why)
            return False
        self.elsewhere = None
        refusing.close()
        self._autosave_here()
        self._note_storage("")
        if refusing.painted:  # strokes no file has yet: as if the painter reported them now
            self.autosaver.mark_changed()
        say_info(
            f"the labels of {name} are no longer open elsewhere: this window "
            "autosaves and saves them from now on"
        )
        return True

    def _autosave_here(self) -> None:
        self.autosaver = Autosaver(self.segment, self.painter, self.worker, self.autosave_s)
        self.autosaver.storage_changed.connect(self._note_storage)

    def _note_storage(self, storage: str) -> None:
        if storage != self.storage:
            self.storage = storage
            self.storage_changed.emit(storage)

    def _unlabel_foreign_codes(self) -> bool:
        """Reset the values napari's own label tools wrote before the dock took the layer up
        (above FULL_INK: no file holds them, and one pixel would refuse every save) to
        unlabelled, as one undoable stroke, and say how many and where; whether any were."""
        canvas = self.painter.canvas
        count, box = foreign_codes(canvas.codes)
        if box is None:
            return False
        y0, x0, y1, x1 = box
        block = canvas.codes[y0:y1, x0:x1]
        unlabelled = np.where(block > FULL_INK, UNLABELLED, block).astype(block.dtype)
        show_labels_box(self.layer, canvas.replace(unlabelled, box))
        say_warning(
            f'"{self.layer.name}" held values that are not Ink Loop labels (napari\'s own label '
            f"tools write them) in {pixels_at(count, box)}: no file can hold them, so they are "
            "unlabelled now and the labels can be saved. Paint with the Ink Loop brush"
        )
        return True

    def _autosave_if_claimed(self) -> None:
        """An autosave tick while the labels are held elsewhere."""
        if self.claim_again():
            self.autosaver.save_if_changed()

    def read(self, ink_path: str | Path) -> tuple[np.ndarray, str, list[str]]:
        """The label codes of an ink label file (and its supervision mask, if beside it),
        where the supervision came from, and the warnings to say once they are applied.
        Reads files only: safe off the GUI thread. A file of the wrong size, an unreadable
        one or a probability map raises with one clear message. The segment's own pair cut
        short between its two renames gives the ink strokes it still holds, as opening the
        segment does (with its warnings); another such pair raises."""
        warnings: list[str] = []
        try:
            ink, supervised, sources = load_labels(self.segment, Path(ink_path))
        except TornPairError as error:  # its way out is the command line's: the dock's instead
            if not error.dock_labels:
                raise ValueError(error.in_dock()) from None
            ink, supervised, warnings = error.restored(self.segment, saved_labels)
            sources = {"labels_file": str(ink_path), "supervision_file": "its ink strokes"}
        problem = probability_map_message(ink, supervised, sources["labels_file"])
        if problem:
            raise ValueError(f"{problem}; {LOAD_PREDICTION_ACTION} turns one into labels")
        return encode_labels(ink, supervised), sources["supervision_file"], warnings

    def load_in_background(self, read: Callable, apply: Callable, failure: str):
        """Call ``read()`` off the GUI thread (files only, never the layer's data), then, on
        the GUI thread, ``apply`` what it returns (unless this session closed meanwhile).
        An error a user can cause (a bad file: OSError, ValueError) is said in one message,
        "``failure``: why"; others are raised whole. `loading` meanwhile. Returns the worker,
        started on the event loop's next turn: its signals' listeners hear them all."""
        self._count_load(+1)
        worker = create_worker(read, _start_thread=False, _ignore_errors=True)
        worker.returned.connect(lambda result: None if self.closed else apply(result))
        worker.errored.connect(lambda error: say_failed(failure, error))
        worker.finished.connect(lambda: self._count_load(-1))
        QTimer.singleShot(0, worker.start)
        return worker

    def _count_load(self, change: int) -> None:
        self._loads += change
        self.loading_changed.emit(self.loading)

    def close(self, wait: bool = True, turning: bool = False) -> None:
        """Stop painting, and write any unsaved changes to the autosave files on the label
        worker, after its jobs (once). ``wait``: for them all (``turning``: Qt's events
        handled meanwhile, and the wait said, `finish_closing`); else (another segment
        opened: seconds at full size) the GUI goes on, the labels stay claimed until
        written, and whatever opens them again waits for that first."""
        if self.closed:
            return
        PAINTING.discard(self)
        self.closed = True
        written = self.autosaver.close()  # None: nothing to write (SavesNothing)
        self.painter.labels_changed.disconnect(self.worker.update)
        self.painter.detach()
        if written is None:
            self._let_go(None)
        else:
            let_go_once_written(self.segment, written, lambda: self._let_go(written))
            self.worker.when_done(written, lambda _: finish_closing(self.segment, written))
        if not wait:
            self.worker.let_finish()
            return
        finish_closing(self.segment, written, turning)
        self.worker.close()

    def _let_go(self, written: Future | None) -> None:
        """Once the last strokes are written: say where, if not beside the segment (where
        no folder took them, the layer says so: a session painting it again writes them),
        and let go of the labels: another window may paint them while the worker finishes
        (a round recorded)."""
        if written is not None:
            self.autosaver.report_last(written)
            if written.exception() is not None:  # no folder took them: the next session does
                self.layer.metadata[UNWRITTEN_KEY] = True
        if self.elsewhere is None:  # all written, and held: nobody else wrote since
            self._found = label_files_now(self.segment)
            let_go_of_labels(self.segment)
        self.layer.metadata[STAMP_KEY] = self._found  # where the dock, opened again, begins


def holds_labels(codes: np.ndarray, rows: int = 1024) -> bool:
    """Whether any pixel of ``codes`` is labelled, read band by band up to the first (GBs for
    a segment), not guessed from the reader's metadata: napari's own tools paint too."""
    return any(codes[y0 : y0 + rows].any() for y0 in range(0, codes.shape[0], rows))
