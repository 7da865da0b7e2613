"""Soft ink labels + supervision mask, updated in place while training reads from them."""

from __future__ import annotations

import contextlib
import multiprocessing
import threading

import numpy as np

from inkloop import rounds
from inkloop._image_windows import padded_window
from inkloop._notify import notify
from inkloop.boxes import check_box
from inkloop.io._label_images import (
    INK_LEVEL,  # noqa: F401 (inkloop.train imports it from here)
    ink_levels,
    is_binary_mask,
    label_arrays,
    mask_values,
)
from inkloop.train._cells import (
    CELL,
    cell_grid,
    cell_shares,
    cell_span,
    cell_sums,  # noqa: F401 (the dock imports it from here)
    class_masks,
    counts_by_kind,
)
from inkloop.train._label_checks import (
    inverted_message,
    untrainable,
)
from inkloop.train._shared import SharedArrays

_LOCK_POLL_S = 1.0  # how often a wait for the lock in a worker checks on its parent


class LabelError(ValueError):
    """The labels cannot train a model yet (none, or only one class)."""


class LabelStore:
    """Ink labels (uint8 H x W, 255 = ink) and supervision (bool H x W) with sampling counts.

    Labels and updates are given as `inkloop.io.ink_levels` and `mask_values` read them (uint8
    and bool are kept as given, not copied); ``shape``, the segment's H x W, refuses labels of
    another size. ``binary``: the labels were given as a binary mask (`is_binary_mask`), so a
    uint8 patch of 0 and 1 given to `update` is one too (1 = ink); else uint8 patches are ink
    levels as they are (a gradient brush's faint edge may top out at 1).

    ``validation`` (y0, x0, y1, x1) is the validation region: its labels are kept for scoring
    but never sampled or used by the loss. ``sources`` names the files the labels came from
    (``labels_file``, ``supervision_file``, as `inkloop.io.load_labels` returns them) for the
    messages of `check_trainable`. Updates and reads are guarded by one lock, so the GUI (or
    the engine's command side) can update while the trainer samples; after `share`, worker
    processes sample the same labels, under the same lock.
    """

    def __init__(
        self, ink: np.ndarray, supervised: np.ndarray, validation=None, sources=None, *, shape=None
    ) -> None:
        ink = np.asarray(ink)
        self.binary = is_binary_mask(ink)
        ink, supervised = label_arrays(ink, supervised, shape)
        self.shape = ink.shape
        self.ink = np.ascontiguousarray(ink)
        self.supervised = np.ascontiguousarray(supervised)
        self.trainable = self.supervised.copy()
        self.sources = dict(sources or {})
        self.validation = None
        if validation is not None:
            self.validation = check_box(validation, self.shape, "validation region", "segment")
            y0, x0, y1, x1 = self.validation
            self.trainable[y0:y1, x0:x1] = False
        for name in _COUNTS:
            setattr(self, name, np.zeros(cell_grid(self.shape), np.int64))
        self._version = np.zeros(1, np.int64)
        self._kept = {}  # what this process derived from the labels, by kind: (version, value)
        self._lock = threading.Lock()
        self._shared: SharedArrays | None = None
        self._given: tuple = ()  # (ink, supervised) as given, once `share` moved away from them
        self._owner = None  # in a process the store was sent to: the process that shared it
        self._recount((0, 0, *self.shape))

    @property
    def version(self) -> int:
        """How many updates these labels have had (a batch cut before the last is stale)."""
        return int(self._version[0])

    def share(self, context) -> None:
        """Move the labels into shared memory, behind a lock of the multiprocessing
        ``context``, so that processes it spawns with this store sample what the user paints
        from then on (the store pickles as a handle to that memory). Idempotent."""
        with self._locked():
            if self._shared is not None:
                return
            # updates still reach the arrays given (the engine child's are mapped files that
            # a respawned child starts from)
            self._given = ((self.ink, self.supervised),)
            self._shared = SharedArrays.holding({name: getattr(self, name) for name in _SHARED})
            self._adopt(self._shared)
            self._lock = context.Lock()  # `_locked` callers waiting on the old one retry

    def __getstate__(self) -> dict:
        if self._shared is None:
            raise TypeError("a LabelStore pickles only once shared (LabelStore.share)")
        state = {"shared": self._shared, "lock": self._lock, "validation": self.validation}
        return {**state, "sources": self.sources, "binary": self.binary}

    def __setstate__(self, state: dict) -> None:
        self._shared, self._lock = state["shared"], state["lock"]
        self._adopt(self._shared)
        self.shape, self.validation = self.ink.shape, state["validation"]
        self.sources, self.binary = state["sources"], state["binary"]
        self._given, self._owner = (), multiprocessing.parent_process()
        self._kept = {}

    def unshare(self) -> None:
        """Undo `share` once the processes that sampled these labels have ended: the labels
        move back into the arrays given (kept up to date all along) and the shared block is
        removed, its memory freed once nothing views it. A later `share` makes a new block.
        Idempotent; in a process the store was sent to, it does nothing."""
        with self._locked():
            if self._shared is None or self._owner is not None:
                return
            ((self.ink, self.supervised),) = self._given
            for name in _DERIVED:
                setattr(self, name, getattr(self, name).copy())
            self._shared.unlink()
            self._shared, self._given = None, ()
            self._lock = threading.Lock()  # `_locked` callers waiting on the old one retry

    def _adopt(self, shared: SharedArrays) -> None:
        for name in _SHARED:
            setattr(self, name, shared[name])

    @contextlib.contextmanager
    def _locked(self):
        """Hold the store's lock (the one `share` put in place, if it did while waiting). In a
        process the store was sent to, a wait ends the process once its parent is gone: a
        parent killed while it held the lock never lets it go."""
        while True:
            lock = self._lock
            while not lock.acquire(timeout=_LOCK_POLL_S):
                if self._owner is not None and not self._owner.is_alive():
                    raise SystemExit("the process that shared these labels has ended")
            try:
                if lock is self._lock:
                    yield
                    return
            finally:
                lock.release()

    def update(self, ink: np.ndarray, supervised: np.ndarray, bbox) -> None:
        """Replace the labels inside ``bbox`` = (y0, x0, y1, x1) with these patches."""
        y0, x0, y1, x1 = check_box(bbox, self.shape, "label box")
        ink, supervised = np.asarray(ink), np.asarray(supervised)
        if ink.shape != (y1 - y0, x1 - x0) or supervised.shape != ink.shape:
            raise ValueError(f"label patch {ink.shape} does not match its box {bbox}")
        ink, supervised = ink_levels(ink, binary_bytes=self.binary), mask_values(supervised)
        with self._locked():
            for ink_array, supervised_array in (self.ink, self.supervised), *self._given:
                ink_array[y0:y1, x0:x1] = ink
                supervised_array[y0:y1, x0:x1] = supervised
            self.trainable[y0:y1, x0:x1] = supervised
            if self.validation is not None:
                vy0, vx0, vy1, vx1 = self.validation
                self.trainable[vy0:vy1, vx0:vx1] = False
            self._recount((y0, x0, y1, x1))
            self._version[0] += 1

    def check_trainable(self, papyrus: np.ndarray | None = None) -> None:
        """Raise LabelError with what to do if there is nothing to learn from yet; say it
        (`inkloop._notify.notify`) if the labels look inverted: ink over most of the
        ``papyrus`` (the segment's mask; None: every pixel), all of it labelled."""
        with self._locked():
            supervised = int(self._cells_supervised.sum())
            ink, no_ink = int(self._cells_ink.sum()), int(self._cells_no_ink.sum())
            problem = None if ink and no_ink else untrainable(self, supervised, ink)
            inverted = not problem and inverted_message(self, supervised, ink, papyrus)
        if problem:
            raise LabelError(problem)
        if inverted:
            notify(inverted)

    def ink_share(self) -> float:
        """Share of the trainable pixels labelled ink (0 with none labelled)."""
        with self._locked():
            supervised = int(self._cells_supervised.sum())
            return int(self._cells_ink.sum()) / supervised if supervised else 0.0

    def sample_centres(self, rng: np.random.Generator, count: int, ink_share: float) -> np.ndarray:
        """``count`` (y, x) pixels, all trainable; about ``ink_share`` of them drawn near ink."""
        with self._locked():
            if not self._cells_supervised.any():
                raise LabelError("no labelled pixels left to train on: paint some labels")
            near_ink = int(rng.binomial(count, ink_share)) if self._cells_ink.any() else 0
            centres = self._draw(rng, near_ink, ink_only=True)
            centres += self._draw(rng, count - near_ink, ink_only=False)
        return np.array(centres, np.int64).reshape(-1, 2)

    def cut(self, y: int, x: int, size: int) -> tuple[np.ndarray, np.ndarray]:
        """Ink (float32 0..1) and loss weights (trainable, bool) in a window; 0 off the image."""
        with self._locked():
            ink = padded_window(self.ink, y, x, size)
            weight = padded_window(self.trainable, y, x, size)
        return ink * np.float32(1 / 255), weight

    def summary(self) -> dict:
        """Counts of the labelled pixels (the validation region's too) for the checkpoint's
        provenance, from the per-cell counts kept for sampling: no whole-segment pass."""
        with self._locked():
            counts = np.array([getattr(self, name).sum() for name in _COUNTS])
            if self.validation is not None:  # trainable pixels are all the labelled but these
                y0, x0, y1, x1 = self.validation
                held_out = counts_by_kind(self.ink[y0:y1, x0:x1], self.supervised[y0:y1, x0:x1])
                counts += [sums.sum() for sums in held_out]
            (supervised, ink_pixels, _no_ink, soft), version = counts.tolist(), self.version
        return {
            "supervised_pixels": supervised,
            "ink_pixels": ink_pixels,
            "soft_pixels": soft,
            "validation": list(self.validation) if self.validation else None,
            "updates": version,
        }

    def labels_hash(self) -> str:
        """`inkloop.rounds.labels_hash` of these labels, kept until they change: it reads every
        pixel (1-2 s at 20000 x 30000), read without holding up the updates and sampling."""
        version = self.version
        if self._kept.get("hash", (None,))[0] == version:
            return self._kept["hash"][1]
        value = rounds.labels_hash(self.ink, self.supervised)
        with self._locked():
            if self.version != version:  # painted meanwhile: hash it as it is now, updates held off
                version, value = self.version, rounds.labels_hash(self.ink, self.supervised)
            self._kept["hash"] = (version, value)
        return value

    def _recount(self, bbox) -> None:
        cells, pixels = cell_span(bbox)
        counts = counts_by_kind(self.ink[pixels], self.trainable[pixels])
        for name, sums in zip(_COUNTS, counts, strict=True):
            getattr(self, name)[cells] = sums

    def _draw(self, rng: np.random.Generator, count: int, ink_only: bool) -> list:
        """Cells weighted by their pixel counts, then a uniform pixel within each cell."""
        if count == 0:
            return []
        cells, shares = self._cell_shares(ink_only)
        centres = []
        for cell in cells[shares.searchsorted(rng.random(count), side="right")].tolist():
            cy, cx = divmod(cell, self._cells_ink.shape[1])
            rows = slice(cy * CELL, (cy + 1) * CELL)
            cols = slice(cx * CELL, (cx + 1) * CELL)
            window = self.trainable[rows, cols]
            if ink_only:
                window = class_masks(self.ink[rows, cols], window)[0]
            candidates = np.flatnonzero(window)
            dy, dx = divmod(int(candidates[rng.integers(candidates.size)]), window.shape[1])
            centres.append((cy * CELL + dy, cx * CELL + dx))
        return centres

    def _cell_shares(self, ink_only: bool) -> tuple[np.ndarray, np.ndarray]:
        """`cell_shares` of the ink or labelled pixels' counts, kept until the labels change."""
        kind = "ink cells" if ink_only else "labelled cells"
        version, kept = self.version, self._kept.get(kind)
        if kept is None or kept[0] != version:
            counts = self._cells_ink if ink_only else self._cells_supervised
            kept = self._kept[kind] = (version, *cell_shares(counts))
        return kept[1:]


# trainable pixels per cell of each kind, in `counts_by_kind`'s order
_COUNTS = ("_cells_supervised", "_cells_ink", "_cells_no_ink", "_cells_soft")
_DERIVED = ("trainable", *_COUNTS, "_version")  # kept by the store from the labels given
_SHARED = ("ink", "supervised", *_DERIVED)
