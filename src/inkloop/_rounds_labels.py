"""The labels a round records: their hash (`labels_hash`, which `inkloop.rounds` re-exports)
and their ink and labelled pixels, both read a band of rows at a time."""

from __future__ import annotations

import hashlib
import math

import numpy as np

_BAND_PIXELS = 1 << 22  # pixels hashed or counted at a time: a band's temporaries, ~4 MB


def labels_hash(ink: np.ndarray, supervised: np.ndarray) -> str:
    """A short hash of the labels a model saw: the supervision and the ink under it.

    It hashes the shape (int64), the supervision's packed bits, then the ink where supervised
    and 0 elsewhere (uint8), fed a band of rows at a time (`row_bands`): the same bytes,
    so the same value, as the whole image at once, without whole-image temporaries."""
    supervised = np.atleast_1d(np.asarray(supervised))
    ink = np.broadcast_to(ink, supervised.shape)  # a view
    bands = row_bands(supervised.shape)
    digest = hashlib.sha256()
    digest.update(np.asarray(supervised.shape, np.int64).tobytes())
    for rows in bands:
        digest.update(np.packbits(np.ascontiguousarray(supervised[rows], bool)))
    for rows in bands:
        labelled = np.ascontiguousarray(supervised[rows], bool)
        digest.update(np.ascontiguousarray(np.where(labelled, ink[rows], 0), np.uint8))
    return digest.hexdigest()[:16]


def row_bands(shape: tuple[int, ...]) -> list[slice]:
    """Bands of rows (the first axis) covering ``shape``, each a multiple of 8 rows but the
    last. np.packbits packs the array flattened, 8 elements to a byte, zero-padding only
    the last byte; each band then starts on a byte boundary of the whole's packed bits, so
    the bands' packed bytes in turn are the whole's (the last pads as the whole does)."""
    width = max(1, math.prod(shape[1:]))
    rows = 8 * max(1, _BAND_PIXELS // width // 8)
    return [slice(top, top + rows) for top in range(0, shape[0], rows)]


def label_counts(ink: np.ndarray, supervised: np.ndarray) -> tuple[int, int]:
    """(ink, labelled) pixels: supervised with ink at or above INK_LEVEL, and supervised;
    counted a band of rows at a time."""
    from inkloop.train import INK_LEVEL

    supervised = np.atleast_1d(np.asarray(supervised))
    ink = np.broadcast_to(ink, supervised.shape)  # a view
    inked = labelled = 0
    for rows in row_bands(supervised.shape):
        inked += np.count_nonzero(supervised[rows] & (ink[rows] >= INK_LEVEL))
        labelled += np.count_nonzero(supervised[rows])
    return int(inked), int(labelled)
