"""Mask and ink label images decoded to what inkloop works with: a bool mask, and uint8 ink
(255 = ink, grey = soft) from the many ways people save labels."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np

from inkloop.io._errors import SegmentError
from inkloop.io._images import ImageInfo, image_info, read_image

log = logging.getLogger(__name__)
INK_LEVEL = 128  # uint8 ink labels at or above this count as ink (for sampling, checks, rounds)
# what the "ink labels" layer holds (0 unlabelled, 1 + ink where labelled) tops out at
_TOP_LABEL_CODE = 256


def read_label_image(
    path: str | Path, shape: tuple[int, int], *, ink: bool, of: str = "the layers are"
) -> np.ndarray:
    """Read a label image of the segment's H x W now (``of``: what has that size, as the
    message says it when the image has not).

    ``ink=True``: ink labels, uint8 (255 = ink, grey = soft), from 8- or 16-bit grey levels, a
    0/1 image (1 = ink) or floats within 0..1; else a mask, bool (non-zero = True).
    """
    info = image_info(Path(path).expanduser())
    check_image_size(info, shape, of)
    return decode_label_image(info.path, ink=ink)


def check_image_size(
    info: ImageInfo, shape: tuple[int, int], of: str = "the layers are", advice: str = ""
) -> None:
    """Raise SegmentError unless the image is H x W (``advice``: what to do, appended)."""
    if info.shape != tuple(shape):
        raise SegmentError(
            f"{info.path}: image is {info.shape[0]}x{info.shape[1]} but {of} "
            f"{shape[0]}x{shape[1]}{advice}"
        )


def decode_label_image(path: Path, *, ink: bool) -> np.ndarray:
    """A label image's pixels as ink (uint8) or a mask (bool); see `read_label_image`."""
    grey = read_image(path, grey=True)
    if not ink:
        return grey > 0
    if grey.dtype.kind == "f":
        return _float_ink(path, grey)
    if grey.dtype == np.bool_:
        return grey.astype(np.uint8) * 255
    _refuse_label_codes(path, grey)
    if grey.max(initial=0) == 1:  # a binary mask, the other common convention: 1 is full ink
        log.warning("%s: ink labels of 0 and 1: read 1 as ink (255)", path)
        return grey.astype(np.uint8) * 255
    if grey.dtype == np.uint8:
        return grey
    low, high = int(grey.min(initial=0)), int(grey.max(initial=0))
    if low < 0:
        raise SegmentError(f"{path}: ink labels must not be negative, found {low}..{high}")
    if high <= 255:  # 8-bit values in a wider file (0/255 saved as 16-bit, say)
        return grey.astype(np.uint8)
    # 16-bit label images, also in a wider file: keep the top 8 bits
    full = 65535 if high <= 65535 else np.iinfo(grey.dtype).max
    return (grey.astype(np.float64) * (255 / full)).astype(np.uint8)


def _float_ink(path: Path, grey: np.ndarray) -> np.ndarray:
    low, high = float(grey.min()), float(grey.max())
    if not 0 <= low <= high <= 1:  # NaN fails too
        raise SegmentError(
            f"{path}: float ink labels must lie within 0..1 (1 = ink), found {low:g}..{high:g}"
        )
    return (grey * 255 + 0.5).astype(np.uint8)


def _refuse_label_codes(path: Path, grey: np.ndarray) -> None:
    """Refuse what napari's own writer makes of the "ink labels" layer: its codes (0
    unlabelled, 1 no ink, up to 256 full ink) as uint32 (napari widens smaller labels to
    that), which read as ink levels would teach faint ink where "no ink" was painted. A
    16-bit image topping out at 256 is those codes too; other wide integers (an int32 mask
    from another tool) are read by their values."""
    high = int(grey.max(initial=0))
    napari_codes = grey.dtype == np.uint32 and high <= _TOP_LABEL_CODE
    if not (napari_codes or (grey.dtype == np.uint16 and high == _TOP_LABEL_CODE)):
        return
    values = "uint32 pixels up to 256" if napari_codes else "16-bit pixels up to 256"
    raise SegmentError(
        f'{path}: {values} look like the "ink labels" layer saved by napari\'s own writer '
        '(its label codes, not ink levels): save that layer with the "Ink Loop" file type '
        "in napari's Save dialog, or with the dock's Save labels"
    )
