"""Mask and ink label images decoded to what inkloop works with: a bool mask, and uint8 ink
(255 = ink, grey = soft) from the many ways people save labels."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from inkloop._notify import notify
from inkloop.brush import FULL_INK  # the "ink labels" layer's top code
from inkloop.io._errors import SegmentError
from inkloop.io._images import ImageInfo, image_info, image_text, read_image

INK_LEVEL = 128  # uint8 ink labels at or above this count as ink (for sampling, checks, rounds)
# the text chunk of the label files inkloop writes: painted labels, however soft (at a
# Strength of 0.8 all their ink is grey), are never mistaken for a probability map, and
# another tool's label file is kept as a copy before a Save writes into it (`save_labels`)
PAINTED = {"inkloop": "painted labels"}


def painted(path: str | Path) -> bool | None:
    """Whether the label file at ``path`` was written by inkloop (its text says PAINTED);
    False for another tool's, or where none is there; None (falsy too) where its header
    cannot be read."""
    try:
        return Path(path).exists() and image_text(path).items() >= PAINTED.items()
    except Exception:  # PIL raises many types for a damaged header
        return None


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
    return decode_label_image(info.path, ink=ink, shape=shape)


def check_image_size(
    info: ImageInfo, shape: tuple[int, int], of: str = "the layers are", folder: Path | None = None
) -> None:
    """Raise SegmentError unless the image is H x W, or H x W padded as the Grand Prize code
    pads it (`is_padded`: its top-left is read). A padded size that is also H x W scaled
    exactly (512 x 512 for 256 x 256) is refused with both readings. ``folder``: a side
    image's, whose message then says how to fix it (`_size_fix`)."""
    found = tuple(info.shape)
    if found == tuple(shape) or (is_padded(found, shape) and not _scale_of(found, shape)):
        return
    raise SegmentError(
        f"{info.path}: image is {found[0]}x{found[1]} but {of} {shape[0]}x{shape[1]}"
        + _size_fix(found, shape, folder)
    )


def check_side_image_size(path: Path, shape: tuple[int, int]) -> None:
    """Raise SegmentError unless the side image at ``path`` (a mask, labels) is H x W (or
    padded, `is_padded`), read from its header, with the fix (`_size_fix`)."""
    check_image_size(image_info(path), shape, folder=path.parent)


def _size_fix(found: tuple[int, ...], shape: tuple[int, int], folder: Path | None) -> str:
    """What to do with an image of ``found`` size that is not H x W: for a side image in
    ``folder``, move it out, or resize it where it is smaller or exactly H x W scaled, or crop
    it from the top-left where it is otherwise larger (resizing would move its ink). An image
    that may be either padded or scaled is told both, side image or not."""
    size, scale = f"{shape[0]}x{shape[1]}", _scale_of(found, shape)
    if scale and is_padded(found, shape):
        moved = f"move it out of {folder}, " if folder else ""
        return (
            f" (padded bottom/right as the Grand Prize code pads its files, or scaled {scale}x: "
            f"inkloop cannot tell which): {moved}crop it to {size} from the top-left if it is "
            f"padded, or resize it to {size} if it is scaled"
        )
    if folder is None:
        return scaled_fix(found, shape)
    fix = f": move it out of {folder}"
    if scale:
        return f"{fix} or resize it to {size} (it is exactly {scale}x that size: scaled)"
    if found[0] >= shape[0] and found[1] >= shape[1]:
        return f"{fix} or crop it to {size} from the top-left"
    if found[0] <= shape[0] and found[1] <= shape[1]:
        return f"{fix} or resize it to {size}"
    return fix


def scaled_fix(found: tuple[int, ...], shape: tuple[int, int]) -> str:
    """What to do with an image of ``found`` size that is H x W ``shape`` scaled exactly,
    up or down (`_scale_of`): resize it to H x W; "" for any other size."""
    size = f"{shape[0]}x{shape[1]}"
    if up := _scale_of(found, shape):
        return f" (it is exactly {up}x that size: scaled): resize it to {size}"
    if down := _scale_of(shape, found):
        return f" (it is scaled down exactly {down}x): resize it to {size}"
    return ""


def _scale_of(found: tuple[int, ...], shape: tuple[int, int]) -> int | None:
    """k where ``found`` is H x W ``shape`` times an integer k >= 2 both ways, else None."""
    height, width = shape
    scale = found[0] // height if height and len(found) == 2 else 0
    return scale if scale >= 2 and tuple(found) == (scale * height, scale * width) else None


# the Grand Prize and villa code pad a segment's layers bottom/right to a multiple of this, and
# write their predictions, labels and masks at the padded size
PAD_MULTIPLE = 256


def padded_sizes(size: int) -> set[int]:
    """What a side of ``size`` pixels may be in the Grand Prize / villa code's files: as it is,
    plus ``256 - size % 256`` (GP inference: a whole 256 where it is a multiple already), or
    rounded up to a multiple of 256 (villa's loaders accept both, side by side)."""
    rounded_up = -(-size // PAD_MULTIPLE) * PAD_MULTIPLE
    return {size, rounded_up, size + PAD_MULTIPLE - size % PAD_MULTIPLE}


def is_padded(found: tuple[int, ...], shape: tuple[int, int]) -> bool:
    """Whether an image of ``found`` size is one of H x W ``shape`` padded bottom/right as the
    Grand Prize / villa code pads it (`padded_sizes`), not H x W itself."""
    found, shape = tuple(found), tuple(shape)
    if len(found) != 2 or found == shape:
        return False
    return all(side in padded_sizes(size) for side, size in zip(found, shape, strict=True))


def crop_padding(values: np.ndarray, shape: tuple[int, int], where) -> np.ndarray:
    """``values`` (an image read from ``where``) as H x W ``shape``: its top-left (a view),
    said in one line, where it is that padded (`is_padded`); else as they are. Side images
    padded that may as well be scaled are refused before (`check_image_size`); a prediction
    is read padded (a Grand Prize one of 256 x 256 is 512 x 512; none comes scaled up)."""
    if not is_padded(values.shape, shape):
        return values
    height, width = shape
    notify(
        f"{where}: read its top-left {height}x{width} (the image is {values.shape[0]}x"
        f"{values.shape[1]}, padded bottom/right to a multiple of {PAD_MULTIPLE} as the Grand "
        "Prize code pads its files)"
    )
    return values[:height, :width]


def decode_label_image(
    path: Path, *, ink: bool, shape: tuple[int, int] | None = None
) -> np.ndarray:
    """A label image's pixels as ink (uint8) or a mask (bool); see `read_label_image`.
    ``shape``: the segment's H x W, whose top-left is read from an image that is padded."""
    grey = read_image(path, grey=True)
    if shape is not None:
        grey = crop_padding(grey, shape, path)
    if not ink:
        return _decoded_mask(grey)
    _refuse_label_codes(path, grey)
    return ink_levels(grey, path, binary_bytes=True)


def is_binary_mask(ink: np.ndarray) -> bool:
    """Whether whole ink labels are a binary mask, bool or integers of 0 and 1 (1 = ink),
    as `inkloop.io.label_arrays` reads them: patches of 0 and 1 mean the same then."""
    ink = np.asarray(ink)
    if ink.dtype == np.bool_:
        return True
    return ink.dtype.kind in "ui" and int(ink.max(initial=0)) == 1


def ink_levels(
    values: np.ndarray, where: str | Path | None = None, *, binary_bytes: bool = False
) -> np.ndarray:
    """Ink labels as inkloop keeps them, uint8 (255 = ink, grey = soft), from the ways people
    give them, in files or arrays: uint8 as it is (not copied); bool, or integers of 0 and 1
    (a binary mask, said to the user): 1 = ink; floats within 0..1 (1 = ink); other integers by
    their values up to 255, else their top 8 bits (16-bit labels).

    ``binary_bytes``: a uint8 image of 0 and 1 is a binary mask too (whole labels, in files
    or arrays: `(mask > 0).astype(np.uint8)` is the commonest; not a patch of soft labels,
    which may top out at 1). Raises SegmentError,
    starting with ``where`` (a file) if given, for values none of these rules reads.
    """
    values = np.asarray(values)
    if values.dtype == np.uint8 and not (binary_bytes and values.max(initial=0) == 1):
        return values
    prefix = f"{where}: " if where is not None else ""
    if values.dtype == np.bool_:
        return values.view(np.uint8) * np.uint8(255)
    if values.dtype.kind == "f":
        return _float_ink(values, prefix)
    if values.dtype.kind not in "ui":
        raise SegmentError(f"{prefix}ink labels must be numbers or bool, not {values.dtype}")
    return _integer_ink(values, prefix)


def probabilities(values: np.ndarray, where: str | Path) -> np.ndarray:
    """A prediction map's values as float32 probabilities 0..1: unsigned integers by their
    type's top value (uint8 /255, uint16 /65535: a weak model's 16-bit map stays weak), bool
    as 0/1, floats as they are, within 0..1. Raises SegmentError naming ``where`` for others:
    a float map of 0..255 would be all ink at any threshold."""
    values = np.asarray(values)
    if values.dtype.kind in "ub":
        top = 1 if values.dtype.kind == "b" else np.iinfo(values.dtype).max
        return values.astype(np.float32) / np.float32(top)
    if values.dtype.kind != "f":
        raise SegmentError(
            f"{where}: a prediction map must be of unsigned integers or floats 0..1, not "
            f"{values.dtype}"
        )
    low, high = (float(values.min()), float(values.max())) if values.size else (0.0, 0.0)
    if not 0 <= low <= high <= 1:  # NaN fails too
        raise SegmentError(
            f"{where}: a float prediction map must hold probabilities within 0..1, found "
            f"{low:g}..{high:g}" + (": divide it by 255" if high <= 255 else "")
        )
    return values.astype(np.float32, copy=False)


def _float_ink(values: np.ndarray, prefix: str) -> np.ndarray:
    low, high = (float(values.min()), float(values.max())) if values.size else (0.0, 0.0)
    if not 0 <= low <= high <= 1:  # NaN fails too
        raise SegmentError(
            f"{prefix}float ink labels must lie within 0..1 (1 = ink), found {low:g}..{high:g}"
        )
    return (values * 255 + 0.5).astype(np.uint8)


def _integer_ink(values: np.ndarray, prefix: str) -> np.ndarray:
    low, high = int(values.min(initial=0)), int(values.max(initial=0))
    if low < 0:
        raise SegmentError(f"{prefix}ink labels must not be negative, found {low}..{high}")
    if high == FULL_INK:  # scaled as 16-bit levels they would be no ink at all
        raise SegmentError(
            f'{prefix}ink labels topping out at 256 look like the "ink labels" layer\'s label '
            "codes (0 unlabelled, 1 no ink, up to 256 full ink), not ink levels (0..255): "
            "inkloop.brush.decode_labels splits them into ink and supervision"
        )
    if high == 1:  # a binary mask, the other common convention: 1 is full ink
        notify(f"{prefix}ink labels of 0 and 1: read 1 as ink (255)")
        return (values == 1).view(np.uint8) * np.uint8(255)
    if high <= 255:  # 8-bit values in a wider type (0/255 saved as 16-bit, say)
        return values.astype(np.uint8)
    # 16-bit label images, also in a wider type: rounded to 8 bits, as floats are
    full = 65535 if high <= 65535 else np.iinfo(values.dtype).max
    return (values.astype(np.float64) * (255 / full) + 0.5).astype(np.uint8)


def mask_values(values: np.ndarray) -> np.ndarray:
    """A supervision (or papyrus) mask as bool, non-zero = True; bool as it is (not copied)."""
    values = np.asarray(values)
    return values if values.dtype == np.bool_ else values > 0


def _decoded_mask(grey: np.ndarray) -> np.ndarray:
    """`mask_values` of pixels decoded for this mask alone: uint8 ones made bool where they
    lie, not copied (a gigapixel mask's copy is 0.6 GB more at its peak)."""
    if grey.dtype != np.uint8 or not grey.flags.writeable:
        return mask_values(grey)
    mask = grey.view(np.bool_)
    np.not_equal(grey, 0, out=mask)
    return mask


def label_arrays(ink, supervised, shape: tuple[int, int] | None = None):
    """Ink (uint8, `ink_levels`) and supervision (bool, `mask_values`) arrays given to
    inkloop, checked to be H x W alike, and the segment's ``shape`` if given. Whole labels:
    uint8 0/1 is a binary mask, as in a file, so labels saved and read back mean the same.
    Other uint8 ink and bool supervision come back as given (not copied). Raises ValueError
    (or SegmentError)."""
    ink, supervised = np.asarray(ink), np.asarray(supervised)
    if ink.ndim != 2:
        raise ValueError(f"labels must be an H x W array, not {ink.shape}")
    if supervised.shape != ink.shape:
        raise ValueError(f"labels {ink.shape} and supervision {supervised.shape} differ")
    if shape is not None and ink.shape != tuple(shape):
        raise ValueError(f"labels {ink.shape} do not match the segment's {tuple(shape)}")
    return ink_levels(ink, binary_bytes=True), mask_values(supervised)


def _refuse_label_codes(path: Path, grey: np.ndarray) -> None:
    """Refuse what napari's own writer makes of the "ink labels" layer: its codes (0
    unlabelled, 1 no ink, up to 256 full ink) as uint32 (napari widens smaller labels to
    that), which read as ink levels would teach faint ink where "no ink" was painted. An
    integer image topping out at 256 is those codes too; other wide integers (an int32 mask
    from another tool) are read by their values."""
    if grey.dtype.kind not in "ui":
        return
    high = int(grey.max(initial=0))
    napari_codes = grey.dtype == np.uint32 and high <= FULL_INK
    if not (napari_codes or high == FULL_INK):
        return
    bits = "uint32" if napari_codes else f"{grey.dtype.itemsize * 8}-bit"
    raise SegmentError(
        f'{path}: {bits} pixels up to 256 look like the "ink labels" layer saved by napari\'s '
        'own writer (its label codes, not ink levels): save that layer with the "Ink Loop" '
        "file type in napari's Save dialog, or with the dock's Save labels"
    )
