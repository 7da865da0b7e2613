"""Soft ink brushes (gradient, fuzzy, "no ink", erase, accept) and the label codes they write.

Pure numpy, Qt-free; `inkloop.canvas` paints the stamps, with undo.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np

from inkloop.boxes import Box, union_box

MODES = ("ink", "no_ink", "erase", "accept")  # accept: the model's prediction under the brush


@dataclass(frozen=True)
class Brush:
    """A round brush. ``hardness`` 1 is a hard edge, 0 fades linearly from the centre;
    ``levels`` posterizes the stamp into that many steps of ``strength`` (fuzzy labels).
    Hardness, strength and levels shape ink only: the other modes paint the whole disc."""

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
        """Ink strength 0..1 of one stamp on a (2r+1)² grid, posterized in fuzzy mode; never
        above ``strength`` (the shape is posterized, then scaled)."""
        values = footprint(self.radius, self.hardness)
        values = posterize(values, self.levels) if self.levels else values
        return values * np.float32(self.strength)

    def reach(self) -> np.ndarray:
        """Where one stamp lands on its (2r+1)² grid (bool): the whole disc, at any strength."""
        return footprint(self.radius, self.hardness) > 0


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
    """Round a brush's shape (0..1) up to the next of ``levels`` steps (0 stays 0)."""
    return (np.ceil(values * levels - 1e-6) / levels).astype(np.float32)


UNLABELLED, NO_INK = 0, 1  # label codes; a labelled pixel of ink strength k (0..255) is 1 + k
FULL_INK = NO_INK + 255  # the highest code


def encode_labels(ink: np.ndarray, supervised: np.ndarray) -> np.ndarray:
    """One uint16 code per pixel: 0 unlabelled, 1 + ink strength (0..255) where labelled."""
    codes = np.array(ink, np.uint16)  # the one buffer: a whole segment's codes are GBs
    codes += 1
    np.multiply(codes, np.asarray(supervised, bool), out=codes)  # UNLABELLED where not
    return codes


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


def decode_labels(codes: np.ndarray, band: int = 2**22) -> tuple[np.ndarray, np.ndarray]:
    """Ink strength (uint8) and supervision (bool) from label codes; codes above FULL_INK
    (napari's own label tools make them) raise ValueError rather than wrap round. Decoded
    ``band`` pixels at a time straight into the two: whole-image temporaries would double
    the peak (a whole segment's codes are GBs) and cost seconds of fresh pages."""
    codes = np.asarray(codes)
    ink, supervised = np.empty(codes.shape, np.uint8), np.empty(codes.shape, bool)
    for rows in _bands(codes, band):
        _decode_band(codes[rows], ink[rows], supervised[rows], codes)
    return ink, supervised


def foreign_codes(codes: np.ndarray, band: int = 2**22) -> tuple[int, Box | None]:
    """How many of the 2-D ``codes`` are above FULL_INK (napari's own label tools write any
    integer; no label file holds them), and the box (y0, x0, y1, x1) that holds them (None:
    none); read ``band`` pixels at a time."""
    count, boxes = 0, []
    for rows in _bands(codes, band):
        part = codes[rows]
        if part.max(initial=0) <= FULL_INK:
            continue
        foreign = part > FULL_INK
        count += int(np.count_nonzero(foreign))
        ys, xs = np.flatnonzero(foreign.any(axis=1)), np.flatnonzero(foreign.any(axis=0))
        boxes.append((rows.start + ys[0], xs[0], rows.start + ys[-1] + 1, xs[-1] + 1))
    return count, (tuple(int(v) for v in union_box(boxes)) if boxes else None)


def pixels_at(count: int, box: Box) -> str:
    """``count`` pixels inside ``box``, in napari's coordinates (y, x), for a message."""
    y0, x0, y1, x1 = box
    y, x = (f"{a}" if b - a == 1 else f"{a}–{b - 1}" for a, b in ((y0, y1), (x0, x1)))
    return f"{count} pixel{'s' * (count != 1)} at y {y}, x {x}"


def _bands(codes: np.ndarray, band: int) -> list[slice]:
    """Row slices of ``codes`` of about ``band`` pixels each."""
    rows = max(1, band // max(1, codes[:1].size))
    return [slice(y0, y0 + rows) for y0 in range(0, codes.shape[0], rows)]


def _decode_band(codes, ink, supervised, whole) -> None:
    if codes.max(initial=0) > FULL_INK:
        raise ValueError(_not_ink_loop_labels(whole))
    np.greater(codes, UNLABELLED, out=supervised)
    np.subtract(codes, supervised, out=ink, casting="unsafe")  # as .astype(np.uint8) would


def _not_ink_loop_labels(codes) -> str:
    """Why ``codes`` cannot be saved, where, and the way out."""
    said = (
        f"label value {int(codes.max())} is not an Ink Loop label (0 unlabelled, {NO_INK} no "
        f"ink, up to {FULL_INK} full ink; napari's own label tools write others)"
    )
    erase = "with the Ink Loop dock's Erase brush (E)"
    if codes.ndim != 2:
        return f"{said}: erase such values {erase}"
    return f"{said}: such values lie in {pixels_at(*foreign_codes(codes))}; erase them {erase}"
