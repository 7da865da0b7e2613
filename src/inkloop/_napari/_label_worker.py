"""A segment's label codes mirrored off the GUI thread, and the jobs that work on them there.

Copying a whole canvas on the GUI thread takes seconds at full size (20000 x 30000 codes are
1.2 GB, and the kernel has to find fresh pages for each copy), and every autosave, round and
engine start took one. The worker keeps one copy instead, made once and kept current by the
box of every change the painter reports (`InkPainter.labels_changed`: strokes as they end,
undo, redo, loads, accepts): only that box is copied on the GUI thread. What the labels
teach, cell by cell (`LabelClasses`), is read there too, then kept box by box.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor

import numpy as np

from inkloop._napari._gui_handoff import GuiHandoff
from inkloop._napari._say import say_warning
from inkloop.brush import FULL_INK, decode_labels
from inkloop.train._labels import CELL, cell_grid, cell_span, cell_sums, class_masks


class LabelWorker:
    """Mirrors ``canvas.codes`` on one worker thread and runs jobs on the mirror, in order.

    A job sees the codes as the changes reported before it was submitted left them (a stroke
    under way is not in them: its end reports it; behind the first copy, below, later ones
    may be); its Future, done, goes to its ``done`` on the GUI thread. Not napari's
    ``create_worker``: the jobs must run one at a time in order (after the changes before
    them; rounds append to one file), the GUI thread must be able to wait for one (an engine
    needed at once), and `close` must see them finished (a round recorded as the viewer
    closes is not lost).

    The mirror starts as zeros (calloc: a page costs memory only once written) and, unless
    ``blank``, gets the row bands of the codes that hold labels, copied as the worker's first
    job (seconds for a densely labelled segment at full size: on the GUI thread that froze
    napari as it opened): every later job waits for it, and the box of a stroke painted
    meanwhile is copied after it. A segment labelled in a few areas costs their bands, not a
    second 1.2 GB at full size.
    """

    def __init__(self, canvas, blank: bool, name: str = "labels") -> None:
        self.canvas = canvas
        self._executor = ThreadPoolExecutor(1, thread_name_prefix=f"inkloop-{name}")
        self._handoff = GuiHandoff()  # each job's ``done``, on the GUI thread
        self._mirror = np.zeros(canvas.shape, np.uint16)
        if not blank:  # an error in it is raised on the GUI thread
            self._run(_catch_up, self._mirror, canvas.codes, done=Future.result)

    def update(self, box) -> None:
        """Mirror the codes inside ``box`` (y0, x0, y1, x1), just changed (GUI thread)."""
        y0, x0, y1, x1 = box
        patch = np.array(self.canvas.codes[y0:y1, x0:x1])
        self._run(_put, self._mirror, box, patch, done=Future.result)  # an error is raised

    def catch_up(self) -> Future:
        """Bring the mirror level with the codes where they differ, band by band, on the
        worker: changes no box reported (a script wrote into the layer's data). The Future
        says whether any band differed. At interpreter exit, when the worker's thread is done
        and takes no more, it runs here."""
        try:
            return self._run(_catch_up, self._mirror, self.canvas.codes)
        except RuntimeError:  # "cannot schedule new futures after interpreter shutdown"
            here = Future()
            here.set_result(_catch_up(self._mirror, self.canvas.codes))
            return here

    def submit(self, job: Callable | None = None, done=None) -> Future:
        """The Future of ``job(codes)`` on the codes as the changes reported so far left them
        (by default, their ink and supervision); ``done(future)`` follows on the GUI thread.
        ``job`` must not keep ``codes``: the changes reported after it are written there."""
        return self._run(job or decode_labels, self._mirror, done=done)

    def when_done(self, future: Future, then: Callable[[Future], None]) -> None:
        """``then(future)`` on the GUI thread once ``future`` (one of its jobs) is done."""
        self._handoff.when_done(future, then)

    def close(self) -> None:
        """Wait for the jobs submitted (a second or so each); no thread stays behind."""
        self._executor.shutdown(wait=True)

    def let_finish(self) -> None:
        """Take no more jobs: those submitted run, and the thread ends after them, while the
        caller goes on (an interpreter's exit waits for them)."""
        self._executor.shutdown(wait=False)

    def _run(self, function: Callable, *args, done=None) -> Future:
        future = self._executor.submit(function, *args)
        if done is not None:
            self._handoff.when_done(future, done)
        return future


def _catch_up(mirror: np.ndarray, codes: np.ndarray, rows: int = 256) -> bool:
    """Copy into ``mirror`` the bands of ``codes`` that differ from it (its untouched pages
    read as zeros and stay unallocated where the codes are zero too); whether any did."""
    differed = False
    for y0 in range(0, codes.shape[0], rows):
        band = codes[y0 : y0 + rows]
        if not np.array_equal(band, mirror[y0 : y0 + rows]):
            np.copyto(mirror[y0 : y0 + rows], band)
            differed = True
    return differed


def _put(mirror: np.ndarray, box, patch: np.ndarray) -> None:
    y0, x0, y1, x1 = box
    mirror[y0:y1, x0:x1] = patch


class LabelClasses:
    """Which cells of the label codes teach ink and which "no ink" (`class_masks`), kept
    up to date box by box: a stroke costs its box, not the whole segment. The labels a
    segment opens with are read on the label worker (seconds at full size; none to read on
    a blank one): until then only the strokes since count, and ``arrived`` follows them."""

    BAND = 32 * CELL  # rows decoded at a time at first: a whole segment's codes are GBs

    def __init__(self, labels, arrived: Callable[[], None]) -> None:
        self.codes = labels.painter.canvas.codes
        self.ink, self.no_ink = _no_cells(self.codes.shape)
        self._since: list | None = None  # the boxes changed while the worker reads
        self._arrived = arrived
        if not labels.blank:
            self._since = []
            labels.worker.submit(self._read, done=self._read_done)

    @property
    def both(self) -> bool:
        """Whether the labels teach both: a run can start (e.g. on a segment's saved ones)."""
        return bool(self.ink.any() and self.no_ink.any())

    def close(self) -> None:
        """Stop hearing of the read (its panel lets go)."""
        self._arrived = None

    def update(self, box) -> None:
        _mark_cells(self.ink, self.no_ink, self.codes, box)
        if self._since is not None:
            self._since.append(box)

    def _read(self, codes: np.ndarray):
        """The two cells' flags of all of ``codes`` (the worker's mirror), band by band."""
        ink, no_ink = _no_cells(codes.shape)
        height, width = codes.shape
        for y0 in range(0, height, self.BAND):
            _mark_cells(ink, no_ink, codes, (y0, 0, min(y0 + self.BAND, height), width))
        return ink, no_ink

    def _read_done(self, reading: Future) -> None:
        if self._arrived is None:
            return
        since, self._since = self._since, None
        try:
            self.ink, self.no_ink = reading.result()
        except ValueError as error:  # napari's own label codes: said again at Finetune
            say_warning(str(error))
            return
        for box in since:  # strokes after the worker's copy: read again from the codes
            self.update(box)
        self._arrived()


def _no_cells(shape) -> tuple[np.ndarray, np.ndarray]:
    grid = cell_grid(shape)
    return np.zeros(grid, bool), np.zeros(grid, bool)


def _mark_cells(ink: np.ndarray, no_ink: np.ndarray, codes: np.ndarray, box) -> None:
    """Flag the cells of ``box`` (whole cells) that hold ink, and "no ink", in ``codes``."""
    cells, pixels = cell_span(box)
    block = codes[pixels]
    if block.max(initial=0) > FULL_INK:  # napari's own codes: said once, counted as unlabelled
        block = np.where(block > FULL_INK, 0, block)
    masks = class_masks(*decode_labels(block))
    for found, mask in zip((ink, no_ink), masks, strict=True):
        found[cells] = cell_sums(mask) > 0
