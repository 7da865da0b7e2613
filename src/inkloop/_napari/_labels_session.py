"""The soft labels of one open segment: painting, autosave, saving and loading files."""

from __future__ import annotations

import logging
import weakref
from collections.abc import Callable
from concurrent.futures import Future
from pathlib import Path

import numpy as np
from napari.qt.threading import create_worker
from napari.utils.notifications import show_error, show_warning
from psygnal import Signal
from qtpy.QtCore import QTimer

from inkloop._locks import claim, holder
from inkloop._napari._autosave import Autosaver
from inkloop._napari._label_worker import LabelWorker
from inkloop._napari._labels import LOAD_PREDICTION_ACTION
from inkloop._napari._painter import InkPainter
from inkloop.brush import decode_labels, encode_labels
from inkloop.io import label_paths, load_labels, probability_map_message

log = logging.getLogger(__name__)
_PAINTING: weakref.WeakSet[LabelSession] = weakref.WeakSet()  # the sessions painting now
_CLAIMED: dict[Path, object] = {}  # labels lock files this process holds -> their open files


def _painting(labels_file: Path) -> list[LabelSession]:
    """The sessions painting the segment whose label file is ``labels_file`` (any spelling)."""
    labels_file = labels_file.resolve()
    return [s for s in _PAINTING if label_paths(s.segment)[0].resolve() == labels_file]


def flush_labels_of(segment) -> bool:
    """Finish writing the labels painted on ``segment`` (a Save under way, strokes not
    autosaved yet), so that opened again it starts from all of them, as the newest label
    files (the reader calls this); whether it is being painted."""
    sessions = _painting(label_paths(segment)[0])  # whatever path it was opened by
    for session in sessions:
        session.autosaver.flush()
    return bool(sessions)


def session_of_layer_data(data, labels_file: Path) -> LabelSession | None:
    """The session painting ``data`` (a layer's codes) whose own label file is
    ``labels_file``: saving there is its Save."""
    return next((s for s in _painting(labels_file) if s.layer.data is data), None)


class LabelSession:
    """Paints ``layer`` (the segment's "ink labels") and keeps its files up to date.

    ``loading_changed`` says when a file read off the GUI thread (`load_in_background`)
    starts and stops being read: the dock offers one such load at a time.

    The segment's labels are claimed for this process (`claim_labels`). Where another
    process holds them, ``elsewhere`` says so, once, and this session writes no label
    files: no autosave, and Save is refused with that message. Its labels began as the files
    were when it opened, so a Save here would replace whatever the other window saved since,
    and would delete the autosave copies that may hold that window's only record of its
    latest strokes. The strokes painted here can still be saved under another name.
    """

    loading_changed = Signal(bool)

    def __init__(self, layer, segment, autosave_s: float = 10.0) -> None:
        self.layer, self.segment = layer, segment
        self.painter = InkPainter(layer)
        #: no pixel was labelled when painting began: nothing to scan for what they teach,
        #: and an engine waits for the first stroke
        self.blank = not holds_labels(self.painter.canvas.codes)
        self.worker = LabelWorker(self.painter.canvas, self.blank)  # the codes, off the GUI
        # first: whatever a change starts (an engine, at the first stroke) reads the mirror
        self.painter.labels_changed.connect(self.worker.update, priority=1)
        self.elsewhere = claim_labels(segment)  # None: this process may write them
        if self.elsewhere is None:
            self.autosaver = Autosaver(segment, self.painter, self.worker, autosave_s)
        else:
            show_warning(
                f"Ink Loop: {self.elsewhere}: this window neither autosaves nor saves them, as "
                f"that would overwrite that window's; {_way_out(segment)}"
            )
            self.autosaver = _SavesNothing(
                f"{self.elsewhere}, whose labels a save here would overwrite; {_way_out(segment)}"
            )
        self.closed = False
        self._loads = 0  # read off the GUI thread now
        _PAINTING.add(self)

    @property
    def loading(self) -> bool:
        """A file is being read by `load_in_background`."""
        return self._loads > 0

    def labels(self):
        """Ink (uint8) and supervision (bool) as they are now (decoded copies)."""
        return decode_labels(self.painter.canvas.codes)

    def save(self) -> Future:
        """Write ``<id>_inklabels.png`` and ``<id>_supervision_mask.png`` beside the segment,
        off the GUI thread (seconds for a whole segment); the Future's result is their paths."""
        return self.autosaver.save()

    def read(self, ink_path: str | Path) -> tuple[np.ndarray, str]:
        """The label codes of an ink label file (and its supervision mask, if beside it) and
        where the supervision came from. Reads files only: safe off the GUI thread.

        A file of the wrong size, an unreadable one or a probability map raises with one
        clear message.
        """
        ink, supervised, sources = load_labels(self.segment, Path(ink_path))
        problem = probability_map_message(ink, supervised, sources["labels_file"])
        if problem:
            raise ValueError(f"{problem}; {LOAD_PREDICTION_ACTION} turns one into labels")
        return encode_labels(ink, supervised), sources["supervision_file"]

    def load_in_background(self, read: Callable, apply: Callable, failure: str):
        """Call ``read()`` off the GUI thread (files only, never the layer's data), then, on
        the GUI thread, ``apply`` what it returns (unless this session closed meanwhile).
        An error a user can cause (a bad file: OSError, ValueError) is said in one message,
        "``failure``: why"; others are raised whole. `loading` meanwhile. Returns the
        worker, started on the event loop's next turn: a caller connecting to its signals
        first hears them all, however fast the read."""
        self._count_load(+1)
        worker = create_worker(read, _start_thread=False, _ignore_errors=True)
        worker.returned.connect(lambda result: None if self.closed else apply(result))
        worker.errored.connect(lambda error: _say_failed(failure, error))
        worker.finished.connect(lambda: self._count_load(-1))
        QTimer.singleShot(0, worker.start)
        return worker

    def _count_load(self, change: int) -> None:
        self._loads += change
        self.loading_changed.emit(self.loading)

    def close(self) -> None:
        """Write any unsaved changes to the autosave files, finish the label worker's jobs and
        stop painting."""
        _PAINTING.discard(self)
        self.closed = True
        self.autosaver.close()
        self.painter.labels_changed.disconnect(self.worker.update)
        self.worker.close()
        self.painter.detach()
        if self.elsewhere is None:
            _let_go_of_labels(self.segment)


def holds_labels(codes: np.ndarray, rows: int = 1024) -> bool:
    """Whether any pixel of ``codes`` is labelled: read band by band, stopping at the first
    labelled one (a whole segment's codes are GBs). Read, not guessed from the layer's
    metadata: a dock closed and opened again, or napari's own tools, paint after the reader."""
    return any(codes[y0 : y0 + rows].any() for y0 in range(0, codes.shape[0], rows))


def _say_failed(failure: str, error: Exception) -> None:
    if not isinstance(error, (OSError, ValueError)):
        raise error  # a bug: napari shows it whole
    show_error(f"{failure}: {error}")


def labels_lock_path(segment) -> Path:
    """The hidden lock file beside ``segment``'s labels that the process painting them holds."""
    folder = label_paths(segment)[0].parent.resolve()
    return folder / f".{segment.name}.inkloop-labels.lock"


def claim_labels(segment) -> str | None:
    """Claim ``segment``'s labels for this process (an flock the system lets go of when the
    process ends, however it ends); None if this process may write them, else why not. Where
    the lock file cannot be made (a read-only folder) or files take no locks (Windows), as
    before: nothing else can be known, and nothing written here tells of it."""
    path = labels_lock_path(segment)
    if path in _CLAIMED:  # another viewer of this process: the reader flushes between them
        return None
    try:
        file = claim(path)
    except OSError as error:
        log.warning("cannot claim the labels of %s (%s): not locked", segment.name, error)
        return None
    if file is None:
        pid = holder(path)
        process = "another inkloop/napari" + ("" if pid is None else f" (process {pid})")
        return f"the labels of {segment.name} are open in {process}"
    _CLAIMED[path] = file
    return None


def _way_out(segment) -> str:
    return (
        "save this layer under another name (File → Save Selected Layers), or close that "
        f"window and open {segment.name} again here"
    )


def _let_go_of_labels(segment) -> None:
    """Let go of the lock on ``segment``'s labels unless a session of this process paints them."""
    path = labels_lock_path(segment)
    if not any(labels_lock_path(s.segment) == path and s.elsewhere is None for s in _PAINTING):
        file = _CLAIMED.pop(path, None)
        if file is not None:
            file.close()


class _SavesNothing:
    """The autosaver of labels that another process holds (`claim_labels`): it writes
    nothing, and a Save says ``why`` not, once per click."""

    def __init__(self, why: str) -> None:
        self.why = why

    def save(self) -> Future:
        show_error(f"Labels not saved: {self.why}")
        refused = Future()
        refused.set_exception(PermissionError(self.why))
        return refused

    def flush(self) -> None:
        """Nothing to write."""

    def close(self) -> None:
        """Nothing to write."""
