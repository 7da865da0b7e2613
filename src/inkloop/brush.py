"""Soft ink labels painted stamp by stamp: gradient and fuzzy brushes, "no ink", erase, undo.

Pure numpy, Qt-free. Every operation touches only the bounding box of a stamp, and undo keeps
the previous content of the 64 x 64 tiles a stroke touched, so memory follows the painted area,
not the canvas.
"""

from __future__ import annotations

import functools
from collections import deque
from dataclasses import dataclass

import numpy as np

from inkloop.boxes import check_box, union_box

MODES = ("ink", "no_ink", "erase", "accept")  # accept: the model's prediction under the brush
TILE = 64  # undo granularity


@dataclass(frozen=True)
class Brush:
    """A round brush. ``hardness`` 1 is a hard edge, 0 fades linearly from the centre;
    ``levels`` posterizes the stamp into that many strengths (fuzzy labels)."""

    radius: float = 20.0
    hardness: float = 0.5
    strength: float = 1.0
    levels: int | None = None
    mode: str = "ink"

    def __post_init__(self) -> None:
        if self.mode not in MODES:
            raise ValueError(f"unknown brush mode {self.mode!r}; choose one of {', '.join(MODES)}")
        if self.radius <= 0 or not 0 <= self.hardness <= 1 or not 0 <= self.strength <= 1:
            raise ValueError("brush radius must be > 0, hardness and strength within 0..1")
        if self.levels is not None and self.levels < 1:
            raise ValueError("fuzzy brushes need at least 1 level")

    def stamp_values(self) -> np.ndarray:
        """Strength 0..1 of one stamp on a (2r+1)² grid, posterized in fuzzy mode."""
        values = footprint(self.radius, self.hardness) * np.float32(self.strength)
        return posterize(values, self.levels) if self.levels else values


@functools.lru_cache(maxsize=64)
def footprint(radius: float, hardness: float) -> np.ndarray:
    """1 inside ``hardness * radius``, a smoothstep down to 0 at ``radius``; read-only."""
    size = int(np.ceil(radius))
    axis = np.arange(-size, size + 1, dtype=np.float32)
    distance = np.hypot(axis[:, None], axis[None, :]) / np.float32(radius)
    ramp = np.clip((1 - distance) / max(1 - hardness, 1e-6), 0, 1)
    values = (ramp * ramp * (3 - 2 * ramp)).astype(np.float32)
    values.flags.writeable = False
    return values


def posterize(values: np.ndarray, levels: int) -> np.ndarray:
    """Round strengths up to the next of ``levels`` steps (0 stays 0): fuzzy labels."""
    return (np.ceil(values * levels - 1e-6) / levels).astype(np.float32)


UNLABELLED, NO_INK = 0, 1  # label codes; a labelled pixel of ink strength k (0..255) is 1 + k


def encode_labels(ink: np.ndarray, supervised: np.ndarray) -> np.ndarray:
    """One uint16 code per pixel: 0 unlabelled, 1 + ink strength (0..255) where labelled."""
    return np.where(supervised, np.asarray(ink, np.uint16) + 1, UNLABELLED).astype(np.uint16)


def ink_from_prediction(probability: np.ndarray, threshold: float = 0.0, *, soft: bool = True):
    """Ink strength (uint8) to label from a prediction (float 0..1 or uint8 0..255).

    Soft: the probability is the strength, and below ``threshold`` "no ink" (0). Hard: 255
    at or above ``threshold``, 0 below.
    """
    probability = np.asarray(probability)
    if probability.dtype == np.uint8:
        level = probability
    else:
        level = np.rint(np.clip(probability, 0, 1) * 255).astype(np.uint8)
    ink_at = level >= np.uint8(round(threshold * 255))
    if soft:
        return np.where(ink_at, level, 0).astype(np.uint8)
    return np.where(ink_at, 255, 0).astype(np.uint8)


class PredictionLabels:
    """The label codes an accept brush writes, read from a prediction on demand.

    ``prediction`` is uint8 (0..255, image-sized, e.g. the overlay's data); ``known`` (bool)
    marks the cells of ``cell`` x ``cell`` pixels that hold a prediction: elsewhere the code
    is 0 and the labels stay as they are. Only the slices asked for are computed, so a
    stamp costs its own box on any size of segment.
    """

    def __init__(self, prediction, known, cell: int = 1, threshold=0.0, soft=True) -> None:
        self.prediction, self.known, self.cell = prediction, known, cell
        self.threshold, self.soft = threshold, soft

    def __getitem__(self, key) -> np.ndarray:
        rows, cols = key
        ink = ink_from_prediction(self.prediction[rows, cols], self.threshold, soft=self.soft)
        cell = self.cell
        known = self.known[
            rows.start // cell : -(-rows.stop // cell), cols.start // cell : -(-cols.stop // cell)
        ]
        known = np.repeat(np.repeat(known, cell, 0), cell, 1)
        known = known[rows.start % cell :, cols.start % cell :][: ink.shape[0], : ink.shape[1]]
        return np.where(known, ink.astype(np.uint16) + 1, UNLABELLED).astype(np.uint16)


def decode_labels(codes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Ink strength (uint8) and supervision (bool) from label codes."""
    supervised = codes > UNLABELLED
    return (codes - supervised).astype(np.uint8), supervised


class LabelCanvas:
    """Soft labels as one uint16 code array (see `encode_labels`) with stroke undo/redo.

    One array rather than ink + supervision so that a viewer can show ``codes`` directly and
    every stamp changes one buffer; `ink` and `supervised` decode it on demand.
    """

    def __init__(self, ink: np.ndarray, supervised: np.ndarray, history: int = 50) -> None:
        if ink.shape != supervised.shape or ink.ndim != 2:
            raise ValueError(f"ink {ink.shape} and supervision {supervised.shape} differ")
        self.codes = encode_labels(ink, supervised)
        self.accepted_pixels = 0  # labelled by accepting the model's prediction (rounds)
        self._undo: deque = deque(maxlen=history)
        self._redo: list = []
        self._stroke: dict | None = None

    @classmethod
    def from_codes(cls, codes: np.ndarray, history: int = 50) -> LabelCanvas:
        """A canvas painting into ``codes`` in place (uint16, e.g. a viewer layer's data)."""
        if codes.dtype != np.uint16 or codes.ndim != 2:
            raise ValueError(f"label codes must be a 2-D uint16 array, not {codes.dtype}")
        canvas = cls.__new__(cls)
        canvas.codes = codes
        canvas._undo, canvas._redo, canvas._stroke = deque(maxlen=history), [], None
        canvas.accepted_pixels = 0
        return canvas

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
        records = [*self._undo, *self._redo]
        return sum(codes.nbytes for record in records for codes in record.values())

    def labels(self, box: tuple[int, int, int, int]) -> tuple[np.ndarray, np.ndarray]:
        """Ink and supervision inside ``box`` = (y0, x0, y1, x1)."""
        y0, x0, y1, x1 = box
        return decode_labels(self.codes[y0:y1, x0:x1])

    def begin_stroke(self) -> None:
        self._stroke = {}

    def end_stroke(self) -> tuple[int, int, int, int] | None:
        """Close the stroke as one undo step; returns the (tile-aligned) box it may have changed."""
        stroke, self._stroke = self._stroke, None
        if not stroke:
            return None
        self._undo.append(stroke)
        self._redo.clear()
        return _tiles_box(stroke, self.shape)

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
        where = where & (accepted > UNLABELLED)
        codes[where] = accepted[where]
        self.accepted_pixels += int(where.sum())

    def undo(self) -> tuple[int, int, int, int] | None:
        """Take back the last stroke; returns the box it changed (None if nothing to undo)."""
        return self._swap(self._undo, self._redo)

    def redo(self) -> tuple[int, int, int, int] | None:
        return self._swap(self._redo, self._undo)

    def _remember(self, box) -> None:
        """Keep the content of tiles this stroke is about to change for the first time."""
        for tile in _tiles(box):
            if tile not in self._stroke:
                self._stroke[tile] = self.codes[_tile_slices(tile, self.shape)].copy()

    def _swap(self, source, target):
        if not source:
            return None
        record = source.pop()
        other = {}
        for tile, codes in record.items():
            where = _tile_slices(tile, self.shape)
            other[tile] = self.codes[where].copy()
            self.codes[where] = codes
        target.append(other)
        return _tiles_box(record, self.shape)


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


def _tiles_box(record, shape) -> tuple[int, int, int, int]:
    slices = [_tile_slices(tile, shape) for tile in record]
    return union_box([(rows.start, cols.start, rows.stop, cols.stop) for rows, cols in slices])
