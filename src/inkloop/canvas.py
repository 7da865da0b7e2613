"""The label canvas: brush stamps painted into one uint16 code array, with stroke undo/redo.

Pure numpy, Qt-free. Every operation touches only the bounding box of a stamp, and undo keeps
the previous content of the 64 x 64 tiles a stroke changed, so memory follows the painted
area, not the canvas; all undo and redo steps together keep at most `HISTORY_BYTES`.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

import numpy as np

from inkloop.boxes import check_box, union_box
from inkloop.brush import NO_INK, UNLABELLED, Brush, decode_labels, encode_labels

TILE = 64  # undo granularity
HISTORY = 50  # undo steps
HISTORY_BYTES = 512 * 2**20  # undo + redo: four whole-image strokes on 8192² (128 MiB each)


@dataclass
class _Step:
    """One undoable stroke: the content its tiles had before, by tile, and the pixels it
    labelled by accepting (undo takes them back from the canvas's count)."""

    tiles: dict
    accepted: int = 0

    @property
    def nbytes(self) -> int:
        return sum(codes.nbytes for codes in self.tiles.values())


class LabelCanvas:
    """Soft labels as one uint16 code array (see `encode_labels`) with stroke undo/redo.

    One array rather than ink + supervision so that a viewer can show ``codes`` directly and
    every stamp changes one buffer; `ink` and `supervised` decode it on demand.
    ``accepted_pixels`` counts the pixels whose labels accepting changed, net of undo.
    """

    def __init__(
        self,
        ink: np.ndarray,
        supervised: np.ndarray,
        history: int = HISTORY,
        history_bytes: int = HISTORY_BYTES,
    ) -> None:
        if ink.shape != supervised.shape or ink.ndim != 2:
            raise ValueError(f"ink {ink.shape} and supervision {supervised.shape} differ")
        self.codes = encode_labels(ink, supervised)
        self._start_history(history, history_bytes)

    @classmethod
    def from_codes(
        cls, codes: np.ndarray, history: int = HISTORY, history_bytes: int = HISTORY_BYTES
    ) -> LabelCanvas:
        """A canvas painting into ``codes`` in place (uint16, e.g. a viewer layer's data)."""
        if codes.dtype != np.uint16 or codes.ndim != 2:
            raise ValueError(f"label codes must be a 2-D uint16 array, not {codes.dtype}")
        canvas = cls.__new__(cls)
        canvas.codes = codes
        canvas._start_history(history, history_bytes)
        return canvas

    def _start_history(self, history: int, history_bytes: int) -> None:
        self.accepted_pixels = 0
        self._history_bytes = history_bytes
        self._undo: deque[_Step] = deque(maxlen=history)
        self._redo: list[_Step] = []
        self._stroke: _Step | None = None

    @property
    def shape(self) -> tuple[int, int]:
        return self.codes.shape

    @property
    def ink(self) -> np.ndarray:
        return decode_labels(self.codes)[0]

    @property
    def supervised(self) -> np.ndarray:
        return self.codes > UNLABELLED

    @property
    def history_nbytes(self) -> int:
        """Memory held by undo and redo records."""
        return sum(step.nbytes for step in [*self._undo, *self._redo])

    def labels(self, box: tuple[int, int, int, int]) -> tuple[np.ndarray, np.ndarray]:
        """Ink and supervision inside ``box`` = (y0, x0, y1, x1)."""
        y0, x0, y1, x1 = box
        return decode_labels(self.codes[y0:y1, x0:x1])

    def begin_stroke(self) -> None:
        self._stroke = _Step({})

    def end_stroke(self) -> tuple[int, int, int, int] | None:
        """Close the stroke as one undo step of the tiles it changed; returns their box, or
        None if it changed nothing (no step then, and what could be redone stays)."""
        stroke, self._stroke = self._stroke, None
        if stroke is None:
            return None
        stroke.tiles = {
            tile: old
            for tile, old in stroke.tiles.items()
            if not np.array_equal(old, self.codes[_tile_slices(tile, self.shape)])
        }
        if not stroke.tiles:
            return None
        self._undo.append(stroke)
        self._redo.clear()
        held = self.history_nbytes
        while held > self._history_bytes and len(self._undo) > 1:  # the newest step stays
            held -= self._undo.popleft().nbytes
        return _tiles_box(stroke.tiles, self.shape)

    def stamp(
        self, y: float, x: float, brush: Brush, accepted=None
    ) -> tuple[int, int, int, int] | None:
        """Apply one stamp centred at (y, x); returns the box (y0, x0, y1, x1) it changed.

        An "accept" brush writes ``accepted`` into its disc: label codes of the image's size
        (an array, or a `PredictionLabels`), 0 where there is nothing to accept.
        """
        if brush.mode == "accept" and accepted is None:
            raise ValueError("there is no prediction to accept yet: finetune or predict first")
        values = brush.stamp_values()
        size = values.shape[0] // 2
        cy, cx = int(np.rint(y)), int(np.rint(x))
        y0, x0 = max(cy - size, 0), max(cx - size, 0)
        y1, x1 = min(cy + size + 1, self.shape[0]), min(cx + size + 1, self.shape[1])
        if y0 >= y1 or x0 >= x1:
            return None
        values = values[y0 - cy + size : y1 - cy + size, x0 - cx + size : x1 - cx + size]
        touched = values > 0
        lone = self._stroke is None  # a stamp outside begin/end_stroke is a stroke of its own
        if lone:
            self.begin_stroke()
        self._remember((y0, x0, y1, x1))
        codes = self.codes[y0:y1, x0:x1]
        if brush.mode == "ink":  # max-combine: 1 + strength, so ink also marks supervision
            level = np.round(values * 255).astype(np.uint16) + 1
            np.maximum(codes, level, out=codes, where=touched)
        elif brush.mode == "accept":
            self._accept(codes, accepted[y0:y1, x0:x1], touched)
        else:
            codes[touched] = NO_INK if brush.mode == "no_ink" else UNLABELLED
        if lone:
            self.end_stroke()
        return y0, x0, y1, x1

    def accept_box(self, box, accepted) -> tuple[int, int, int, int] | None:
        """Write ``accepted`` (label codes, as for `stamp`) into ``box`` = (y0, x0, y1, x1)
        as one undoable stroke; returns the box it changed."""
        y0, x0, y1, x1 = check_box(box, self.shape, "accepted box")
        self.begin_stroke()
        self._remember((y0, x0, y1, x1))
        codes = self.codes[y0:y1, x0:x1]
        self._accept(codes, accepted[y0:y1, x0:x1], np.ones(codes.shape, bool))
        return self.end_stroke()

    def replace(self, codes: np.ndarray) -> tuple[int, int, int, int] | None:
        """Replace all labels by ``codes`` (a loaded file) as one undoable stroke; returns
        the box it changed. Undo keeps only the box where the two differ."""
        if codes.shape != self.shape:
            raise ValueError(f"labels {codes.shape} do not match the canvas's {self.shape}")
        differs = codes != self.codes
        rows, cols = np.flatnonzero(differs.any(axis=1)), np.flatnonzero(differs.any(axis=0))
        if not rows.size:
            return None
        y0, x0, y1, x1 = rows[0], cols[0], rows[-1] + 1, cols[-1] + 1
        self.begin_stroke()
        self._remember((y0, x0, y1, x1))
        self.codes[y0:y1, x0:x1] = codes[y0:y1, x0:x1]
        return self.end_stroke()

    def _accept(self, codes: np.ndarray, accepted: np.ndarray, where: np.ndarray) -> None:
        where = where & (accepted > UNLABELLED) & (accepted != codes)
        codes[where] = accepted[where]
        count = int(np.count_nonzero(where))
        self._stroke.accepted += count
        self.accepted_pixels += count

    def undo(self) -> tuple[int, int, int, int] | None:
        """Take back the last stroke; returns the box it changed (None if nothing to undo,
        or while a stroke is open: its tiles are only half painted)."""
        return self._swap(self._undo, self._redo, -1)

    def redo(self) -> tuple[int, int, int, int] | None:
        return self._swap(self._redo, self._undo, +1)

    def _remember(self, box) -> None:
        """Keep the content of tiles this stroke is about to change for the first time."""
        tiles = self._stroke.tiles
        for tile in _tiles(box):
            if tile not in tiles:
                tiles[tile] = self.codes[_tile_slices(tile, self.shape)].copy()

    def _swap(self, source, target, sign: int):
        if not source or self._stroke is not None:
            return None
        step = source.pop()
        other = {}
        for tile, codes in step.tiles.items():
            where = _tile_slices(tile, self.shape)
            other[tile] = self.codes[where].copy()
            self.codes[where] = codes
        self.accepted_pixels += sign * step.accepted
        target.append(_Step(other, step.accepted))
        return _tiles_box(step.tiles, self.shape)


def _tiles(box) -> list[tuple[int, int]]:
    y0, x0, y1, x1 = box
    return [
        (ty, tx)
        for ty in range(y0 // TILE, (y1 - 1) // TILE + 1)
        for tx in range(x0 // TILE, (x1 - 1) // TILE + 1)
    ]


def _tile_slices(tile, shape) -> tuple[slice, slice]:
    ty, tx = tile
    return (
        slice(ty * TILE, min((ty + 1) * TILE, shape[0])),
        slice(tx * TILE, min((tx + 1) * TILE, shape[1])),
    )


def _tiles_box(tiles, shape) -> tuple[int, int, int, int]:
    slices = [_tile_slices(tile, shape) for tile in tiles]
    return union_box([(rows.start, cols.start, rows.stop, cols.stop) for rows, cols in slices])
