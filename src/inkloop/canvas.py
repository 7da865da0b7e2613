"""The label canvas: brush stamps painted into one uint16 code array, with stroke undo/redo.

Pure numpy, Qt-free. Every operation touches only the bounding box of a stamp, and undo keeps
the previous content of the 64 x 64 tiles a stroke changed, so memory follows the painted
area, not the canvas; all undo and redo steps together keep at most `HISTORY_BYTES`. A step
keeps its tiles' old content as one (k, 64, 64) array, and a whole-image one (a loaded file:
16384 tiles on 8192²) finds the tiles it changes with array operations, not tile by tile.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

import numpy as np

from inkloop.boxes import Box, check_box, union_box
from inkloop.brush import NO_INK, UNLABELLED, Brush, decode_labels, encode_labels

TILE = 64  # undo granularity
HISTORY = 50  # undo steps
HISTORY_BYTES = 512 * 2**20  # undo + redo: four whole-image strokes on 8192² (128 MiB each)


@dataclass
class _Step:
    """One undoable stroke: the tiles it changed ((k, 2) tile indices), the content they had
    before ((k, TILE, TILE), zero beyond the image's edge), and the pixels it labelled by
    accepting (undo takes them back from the canvas's count)."""

    tiles: np.ndarray
    content: np.ndarray
    accepted: int = 0

    @property
    def nbytes(self) -> int:
        return self.content.nbytes


@dataclass
class _Stroke:
    """A stroke under way: the content of each tile it touched before its first stamp there."""

    tiles: dict
    accepted: int = 0
    kept: int = 0


class LabelCanvas:
    """Soft labels as one uint16 code array (see `encode_labels`) with stroke undo/redo.

    One array rather than ink + supervision so that a viewer can show ``codes`` directly and
    every stamp changes one buffer; `ink` and `supervised` decode it on demand.
    ``accepted_pixels`` counts the pixels whose labels accepting changed, net of undo.
    ``kept_labels``: labelled pixels the last stroke or `accept_box` left as they were, stronger
    ink under ink (max-combine) or any label under accept (overlapping stamps count twice).
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
        self.accepted_pixels = self.kept_labels = 0
        self._history_bytes = history_bytes
        self._undo: deque[_Step] = deque(maxlen=history)
        self._redo: list[_Step] = []
        self._stroke: _Stroke | None = None

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

    def labels(self, box: Box) -> tuple[np.ndarray, np.ndarray]:
        """Ink and supervision inside ``box`` = (y0, x0, y1, x1)."""
        y0, x0, y1, x1 = box
        return decode_labels(self.codes[y0:y1, x0:x1])

    def begin_stroke(self) -> None:
        self._stroke = _Stroke({})

    def end_stroke(self) -> Box | None:
        """Close the stroke as one undo step of the tiles it changed; returns their box, or
        None if it changed nothing (no step then, and what could be redone stays)."""
        stroke, self._stroke = self._stroke, None
        self.kept_labels = 0 if stroke is None else stroke.kept
        if stroke is None or not stroke.tiles:
            return None
        tiles = np.array(list(stroke.tiles), int)
        content = np.stack(list(stroke.tiles.values()))
        changed = (content != _gather(self.codes, tiles)).any(axis=(1, 2))
        return self._push(_Step(tiles[changed], content[changed], stroke.accepted))

    def _push(self, step: _Step) -> Box | None:
        """Keep ``step`` (unless it changed nothing) as the newest undo step; its box."""
        if not len(step.tiles):
            return None
        self._undo.append(step)
        self._redo.clear()
        held = self.history_nbytes
        while held > self._history_bytes and len(self._undo) > 1:  # the newest step stays
            held -= self._undo.popleft().nbytes
        return _tiles_box(step.tiles, self.shape)

    def stamp(self, y: float, x: float, brush: Brush, accepted=None) -> Box | None:
        """Apply one stamp centred at (y, x); returns the box (y0, x0, y1, x1) it changed.

        An "accept" brush writes ``accepted`` into the unlabelled pixels of its disc: label
        codes of the image's size (an array, or a `PredictionLabels`), 0 where there is
        nothing to accept. Strength shapes ink only: the other modes take the whole disc.
        """
        if brush.mode == "accept" and accepted is None:
            raise ValueError("there is no prediction to accept yet: finetune or predict first")
        values = brush.stamp_values() if brush.mode == "ink" else brush.reach()
        size = values.shape[0] // 2
        cy, cx = int(np.rint(y)), int(np.rint(x))
        y0, x0 = max(cy - size, 0), max(cx - size, 0)
        y1, x1 = min(cy + size + 1, self.shape[0]), min(cx + size + 1, self.shape[1])
        if y0 >= y1 or x0 >= x1:
            return None
        values = values[y0 - cy + size : y1 - cy + size, x0 - cx + size : x1 - cx + size]
        touched = values > 0
        if brush.mode == "ink":  # a rim whose level rounds to 0 is not "no ink" (code 1)
            level = np.round(values * 255).astype(np.uint16) + 1
            touched = level > NO_INK
        lone = self._stroke is None  # a stamp outside begin/end_stroke is a stroke of its own
        if lone:
            self.begin_stroke()
        self._remember((y0, x0, y1, x1))
        codes = self.codes[y0:y1, x0:x1]
        if brush.mode == "ink":  # max-combine: 1 + strength, so ink also marks supervision
            self._stroke.kept += int(np.count_nonzero(touched & (codes > level)))
            np.maximum(codes, level, out=codes, where=touched)
        elif brush.mode == "accept":
            self._accept(codes, accepted[y0:y1, x0:x1], touched)
        else:
            codes[touched] = NO_INK if brush.mode == "no_ink" else UNLABELLED
        if lone:
            self.end_stroke()
        return y0, x0, y1, x1

    def accept_box(self, box, accepted) -> Box | None:
        """Write ``accepted`` (label codes, as for `stamp`) into the unlabelled pixels of
        ``box`` = (y0, x0, y1, x1) as one undoable stroke; returns the box it changed."""
        y0, x0, y1, x1 = check_box(box, self.shape, "accepted box")
        accepted = np.asarray(accepted[y0:y1, x0:x1])
        where, kept = _accepting(self.codes[y0:y1, x0:x1], accepted)
        changed = self._write((y0, x0, y1, x1), accepted, where, accepting=True)
        self.kept_labels = kept
        return changed

    def replace(self, codes: np.ndarray, box: Box | None = None) -> Box | None:
        """Replace the labels inside ``box`` (all of them by default: a loaded file) by
        ``codes`` as one undoable stroke; returns the box it changed. Undo keeps only the
        tiles where the two differ."""
        y0, x0, y1, x1 = box = box or (0, 0, *self.shape)
        if codes.shape != (y1 - y0, x1 - x0):
            raise ValueError(f"labels {codes.shape} do not match the box {box} of the canvas")
        return self._write(box, codes, codes != self.codes[y0:y1, x0:x1])

    def _write(self, box: Box, new, changed, accepting: bool = False) -> Box | None:
        """Write ``new`` where it ``changed`` the labels (both of the box's size) as one undo
        step of the tiles it changes; returns the box it changed. Over a stroke under way
        (a file loaded mid-drag) the stroke's stamps so far become a step of their own."""
        drawing = self._stroke is not None
        boxes = [self.end_stroke()]
        tiles = _changed_tiles(box, changed)
        if len(tiles):
            count = int(np.count_nonzero(changed)) if accepting else 0
            step = _Step(tiles, _gather(self.codes, tiles), count)
            y0, x0, y1, x1 = box  # a loaded file is equal where unchanged: copied whole, fast
            np.copyto(self.codes[y0:y1, x0:x1], new, where=changed if accepting else True)
            self.accepted_pixels += count
            boxes.append(self._push(step))
        if drawing:
            self.begin_stroke()
        boxes = [box for box in boxes if box is not None]
        return union_box(boxes) if boxes else None

    def _accept(self, codes: np.ndarray, accepted: np.ndarray, where: np.ndarray) -> None:
        where, kept = _accepting(codes, accepted, where)
        codes[where] = accepted[where]
        count = int(np.count_nonzero(where))
        self._stroke.accepted += count
        self._stroke.kept += kept
        self.accepted_pixels += count

    def undo(self) -> Box | None:
        """Take back the last stroke; returns the box it changed (None if nothing to undo,
        or while a stroke is open: its tiles are only half painted)."""
        return self._swap(self._undo, self._redo, -1)

    def redo(self) -> Box | None:
        return self._swap(self._redo, self._undo, +1)

    def _remember(self, box) -> None:
        """Keep the content of tiles this stroke is about to change for the first time."""
        tiles = self._stroke.tiles
        new = np.array([tile for tile in _tiles(box) if tile not in tiles], int).reshape(-1, 2)
        for tile, content in zip(map(tuple, new), _gather(self.codes, new), strict=True):
            tiles[tile] = content

    def _swap(self, source, target, sign: int):
        if not source or self._stroke is not None:
            return None
        step = source.pop()
        _exchange(self.codes, step.tiles, step.content)  # the step now holds what to go back to
        self.accepted_pixels += sign * step.accepted
        target.append(step)
        return _tiles_box(step.tiles, self.shape)


def _accepting(codes: np.ndarray, accepted: np.ndarray, where=True) -> tuple[np.ndarray, int]:
    """Where accepting changes ``codes`` (of the pixels ``where``): ``accepted`` has a label
    there and the user none, so their labels stay; and how many labelled pixels it kept."""
    offered = (accepted > UNLABELLED) & where
    labelled = codes > UNLABELLED
    return offered & ~labelled, int(np.count_nonzero(offered & labelled))


def _tiles(box) -> list[tuple[int, int]]:
    y0, x0, y1, x1 = box
    return [
        (ty, tx)
        for ty in range(y0 // TILE, (y1 - 1) // TILE + 1)
        for tx in range(x0 // TILE, (x1 - 1) // TILE + 1)
    ]


def _tiles_box(tiles: np.ndarray, shape) -> Box:
    (ty0, tx0), (ty1, tx1) = tiles.min(axis=0) * TILE, (tiles.max(axis=0) + 1) * TILE
    return int(ty0), int(tx0), int(min(ty1, shape[0])), int(min(tx1, shape[1]))


def _changed_tiles(box: Box, changed: np.ndarray) -> np.ndarray:
    """The tiles ((k, 2) indices) with a True in ``changed``, the mask of ``box``'s pixels."""
    y0, x0 = box[:2]
    top, left = y0 % TILE, x0 % TILE
    rows, cols = -(-(top + changed.shape[0]) // TILE), -(-(left + changed.shape[1]) // TILE)
    if changed.shape != (rows * TILE, cols * TILE):  # pad it out to whole tiles
        padded = np.zeros((rows * TILE, cols * TILE), bool)
        padded[top : top + changed.shape[0], left : left + changed.shape[1]] = changed
        changed = padded
    hit = changed.reshape(rows, TILE, -1).any(axis=1).reshape(rows, cols, TILE).any(axis=2)
    return np.argwhere(hit) + np.array([y0 // TILE, x0 // TILE])


def _gather(codes: np.ndarray, tiles: np.ndarray) -> np.ndarray:
    """The content of ``tiles`` as (k, TILE, TILE), zero beyond the image's edge."""
    content = np.zeros((len(tiles), TILE, TILE), codes.dtype)
    for tile, (ty, tx) in zip(content, tiles.tolist(), strict=True):
        part = codes[ty * TILE : (ty + 1) * TILE, tx * TILE : (tx + 1) * TILE]
        tile[: part.shape[0], : part.shape[1]] = part
    return content


def _exchange(codes: np.ndarray, tiles: np.ndarray, content: np.ndarray) -> None:
    """Swap ``content`` (as `_gather` gives it) with what ``tiles`` hold now, in place."""
    for tile, (ty, tx) in zip(content, tiles.tolist(), strict=True):
        part = codes[ty * TILE : (ty + 1) * TILE, tx * TILE : (tx + 1) * TILE]
        now = part.copy()
        part[...] = tile[: part.shape[0], : part.shape[1]]
        tile[: part.shape[0], : part.shape[1]] = now
