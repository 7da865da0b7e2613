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

MODES = ("ink", "no_ink", "erase")
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


class LabelCanvas:
    """Ink strength (uint8, 255 = sure ink) and supervision (bool) with stroke undo/redo."""

    def __init__(self, ink: np.ndarray, supervised: np.ndarray, history: int = 50) -> None:
        if ink.shape != supervised.shape or ink.ndim != 2:
            raise ValueError(f"ink {ink.shape} and supervision {supervised.shape} differ")
        self.ink = np.ascontiguousarray(ink, np.uint8)
        self.supervised = np.ascontiguousarray(supervised, bool)
        self._undo: deque = deque(maxlen=history)
        self._redo: list = []
        self._stroke: dict | None = None

    def begin_stroke(self) -> None:
        self._stroke = {}

    def end_stroke(self) -> None:
        if self._stroke:
            self._undo.append(self._stroke)
            self._redo.clear()
        self._stroke = None

    def stamp(self, y: float, x: float, brush: Brush) -> tuple[int, int, int, int] | None:
        """Apply one stamp centred at (y, x); returns the box (y0, x0, y1, x1) it changed."""
        values = brush.stamp_values()
        size = values.shape[0] // 2
        cy, cx = int(np.rint(y)), int(np.rint(x))
        y0, x0 = max(cy - size, 0), max(cx - size, 0)
        y1, x1 = min(cy + size + 1, self.ink.shape[0]), min(cx + size + 1, self.ink.shape[1])
        if y0 >= y1 or x0 >= x1:
            return None
        values = values[y0 - cy + size : y1 - cy + size, x0 - cx + size : x1 - cx + size]
        touched = values > 0
        lone = self._stroke is None  # a stamp outside begin/end_stroke is a stroke of its own
        if lone:
            self.begin_stroke()
        self._remember((y0, x0, y1, x1))
        ink, supervised = self.ink[y0:y1, x0:x1], self.supervised[y0:y1, x0:x1]
        if brush.mode == "ink":
            level = np.round(values * 255).astype(np.uint8)
            np.maximum(ink, level, out=ink)
            supervised |= touched
        else:
            ink[touched] = 0
            supervised[touched] = brush.mode == "no_ink"
        if lone:
            self.end_stroke()
        return y0, x0, y1, x1

    def undo(self) -> tuple[int, int, int, int] | None:
        """Take back the last stroke; returns the box it changed (None if nothing to undo)."""
        return self._swap(self._undo, self._redo)

    def redo(self) -> tuple[int, int, int, int] | None:
        return self._swap(self._redo, self._undo)

    def _remember(self, box) -> None:
        """Keep the content of tiles this stroke is about to change for the first time."""
        for tile in _tiles(box):
            if tile not in self._stroke:
                self._stroke[tile] = self._copy(tile)

    def _copy(self, tile) -> tuple[np.ndarray, np.ndarray]:
        rows, cols = _tile_slices(tile, self.ink.shape)
        return self.ink[rows, cols].copy(), self.supervised[rows, cols].copy()

    def _swap(self, source, target):
        if not source:
            return None
        record = source.pop()
        other = {}
        for tile, (ink, supervised) in record.items():
            other[tile] = self._copy(tile)
            rows, cols = _tile_slices(tile, self.ink.shape)
            self.ink[rows, cols] = ink
            self.supervised[rows, cols] = supervised
        target.append(other)
        return _tiles_box(record, self.ink.shape)


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
    rows = [_tile_slices(tile, shape)[0] for tile in record]
    cols = [_tile_slices(tile, shape)[1] for tile in record]
    return (
        min(r.start for r in rows),
        min(c.start for c in cols),
        max(r.stop for r in rows),
        max(c.stop for c in cols),
    )
