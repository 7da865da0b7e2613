"""The grid of CELL x CELL cells that the label store counts labels on and samples from (the
dock imports these helpers from `inkloop.train._labels`, which took them from here)."""

from __future__ import annotations

import numpy as np

from inkloop.io._label_images import INK_LEVEL

CELL = 32  # sampling grid: patch centres are drawn cell-first, then pixel-in-cell
_BAND = 32 * CELL  # rows counted at once: a band's masks, not a whole segment's


def class_masks(ink: np.ndarray, labelled: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The ``labelled`` pixels that teach ink (strength at or above INK_LEVEL) and those that
    teach "no ink" (strength 0: painted so, or 0 in a label file). Training needs both; the
    soft pixels between, such as the rim of a gradient brush's ink stroke, are neither."""
    return labelled & (ink >= INK_LEVEL), labelled & (ink == 0)


def counts_by_kind(ink: np.ndarray, labelled: np.ndarray) -> list[np.ndarray]:
    """`cell_sums` of the ``labelled`` pixels, of those of them that teach ink and "no ink"
    (`class_masks`) and of the soft ones (neither 0 nor 255), for a block that starts on a
    cell boundary. Counted a band of rows at a time, so that no mask is the size of a whole
    segment; a band with no labelled pixel counts 0 without its ink being read."""
    counts = [np.zeros(cell_grid(labelled.shape), np.int64) for _ in range(4)]
    for top in range(0, labelled.shape[0], _BAND):
        labels, levels = labelled[top : top + _BAND], ink[top : top + _BAND]
        if labels.any():
            masks = labels, *class_masks(levels, labels), labels & (levels > 0) & (levels < 255)
            for sums, mask in zip(counts, masks, strict=True):
                sums[top // CELL : (top + _BAND) // CELL] = cell_sums(mask)
    return counts


def cell_span(bbox) -> tuple[tuple[slice, slice], tuple[slice, slice]]:
    """The CELL grid's cells that ``bbox`` = (y0, x0, y1, x1) touches, and their pixels."""
    cy0, cx0 = bbox[0] // CELL, bbox[1] // CELL
    cy1, cx1 = -(-bbox[2] // CELL), -(-bbox[3] // CELL)
    cells = (slice(cy0, cy1), slice(cx0, cx1))
    return cells, (slice(cy0 * CELL, cy1 * CELL), slice(cx0 * CELL, cx1 * CELL))


def cell_grid(shape: tuple[int, int]) -> tuple[int, int]:
    """How many CELL x CELL cells (rows, columns) cover an image of ``shape``."""
    return -(-shape[0] // CELL), -(-shape[1] // CELL)


def cell_sums(block: np.ndarray) -> np.ndarray:
    """Per-CELL counts of a boolean block (the last row/column of cells may be partial);
    only the partial cells are copied, padded."""
    sums = np.zeros(cell_grid(block.shape), np.int64)
    height, width = (size - size % CELL for size in block.shape)
    sums[: height // CELL, : width // CELL] = _whole_cell_sums(block[:height, :width])
    if height < block.shape[0]:  # the last row of cells, the corner's with it
        sums[-1] = _whole_cell_sums(_padded_to_cells(block[height:]))[0]
    if width < block.shape[1]:
        right = _whole_cell_sums(_padded_to_cells(block[:height, width:]))
        sums[: height // CELL, -1] = right[:, 0]
    return sums


def _whole_cell_sums(block: np.ndarray) -> np.ndarray:
    """`cell_sums` of a block of whole cells: down each cell's columns, then across."""
    rows, cols = block.shape[0] // CELL, block.shape[1] // CELL
    columns = block.reshape(rows, CELL, block.shape[1]).sum(axis=1, dtype=np.int16)
    return columns.reshape(rows, cols, CELL).sum(axis=2, dtype=np.int64)


def _padded_to_cells(block: np.ndarray) -> np.ndarray:
    return np.pad(block, ((0, -block.shape[0] % CELL), (0, -block.shape[1] % CELL)))


def cell_shares(counts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The (flat) cells of nonzero ``counts`` and their cumulative shares, such that
    ``cells[shares.searchsorted(rng.random(n), side="right")]`` draws the cells that
    ``rng.choice(counts.size, n, p=counts / counts.sum())`` draws with the same ``rng``,
    without its pass over every cell of a segment at each draw."""
    counts = counts.ravel()
    cells = np.flatnonzero(counts)
    shares = (counts[cells] / counts.sum()).cumsum()  # the zeros left out add nothing to it
    return cells, shares / shares[-1]
