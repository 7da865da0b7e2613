"""Which axes of a segment zarr are its layers, rows and columns: the store's axis names where
it has them; else the size of a side image (mask, labels) beside it, which is H x W; else the
layers are the first axis unless the last alone is the smallest (a segment stored depth-last,
H x W x Z, as the community's villa loaders accept it)."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path

from inkloop._notify import notify
from inkloop.io._errors import SegmentError
from inkloop.io._images import image_info
from inkloop.io._label_images import is_padded
from inkloop.io._lazy import ZYX, as_volume

DEPTH_LAST = (2, 0, 1)  # the stored axes of z, y and x in H x W x Z


def multiscales(group) -> dict | None:
    """A zarr group's first OME multiscales entry (OME-Zarr 0.5 nests it under "ome"), or None."""
    attrs = group.attrs.asdict()
    entries = attrs.get("multiscales") or attrs.get("ome", {}).get("multiscales")
    return entries[0] if entries else None


def zyx_order(
    node, finest, where: str, side_images: Callable[[], Iterable[Path]] = tuple
) -> tuple[int, int, int]:
    """The stored axes of z, y and x among the last three of ``finest``, the array of ``node``
    (itself, or the first level of an OME group): named by the store where its names are z, y
    and x in any order; else as a side image's size tells (``side_images()`` lists them, only
    then: its header, `_unnamed_order`).
    Says once, naming ``where``, when the order is not `ZYX`; refuses, as `as_volume` does, an
    array of fewer than three axes (a 2-D image, as inkloop's own prediction OME-Zarr)."""
    if finest.ndim < 3:
        as_volume(where, finest)  # raises its SegmentError: no Z x H x W volume
    shape = tuple(int(n) for n in finest.shape[-3:])
    names = _spatial_names(node, finest)
    if names is not None:
        order = tuple(names.index(axis) for axis in "zyx")
        how = f"its axes are named {', '.join(names)}"
    else:
        order, why = _unnamed_order(shape, side_images())
        how = f"stored depth-last, {' x '.join(map(str, shape))} ({why}: it names no axes z, y, x)"
    if order != ZYX:
        depth, height, width = (shape[axis] for axis in order)
        notify(f"{where}: {how}: read as {depth} layers of {height} x {width}")
    return order


def _unnamed_order(shape: tuple[int, int, int], side_images) -> tuple[tuple[int, int, int], str]:
    """The order of a zarr that names no axes, and why: as the first side image that tells
    (`_order_told_by`); else DEPTH_LAST where the last axis alone is the smallest, else `ZYX`."""
    for path in side_images:
        if (told := _order_told_by(path, shape)) is not None:
            return told
    if shape[2] < min(shape[:2]):
        return DEPTH_LAST, "its smallest axis taken as the layers"
    return ZYX, "its first axis taken as the layers"


def _order_told_by(path: Path, shape: tuple[int, int, int]) -> tuple[tuple, str] | None:
    """(order, why) where the side image at ``path`` is the size of the layers of ``shape``
    read in one order alone, `ZYX` (``shape[1:]``) or DEPTH_LAST (``shape[:2]``), as they are
    or padded (`is_padded`); else None: it fits both or neither."""
    try:
        size = image_info(path).shape
    except SegmentError:  # said where the image is used; it tells nothing here
        return None
    fits = [size == rows_cols or is_padded(size, rows_cols) for rows_cols in (shape[1:], shape[:2])]
    if fits.count(True) != 1:
        return None
    order = ZYX if fits[0] else DEPTH_LAST
    return order, f"{path.name} is {size[0]} x {size[1]}"


def _spatial_names(node, finest) -> list[str] | None:
    """The names of ``finest``'s last three axes, lower case, where they are z, y and x: an
    OME group's multiscales axes, else the array's own (zarr v3 dimension_names, or xarray's
    _ARRAY_DIMENSIONS attribute in zarr v2); None where none name all three."""
    entry = multiscales(node) if node is not finest else None
    axes = (entry or {}).get("axes") or ()
    named = [
        [a.get("name") if isinstance(a, dict) else a for a in axes],
        getattr(finest.metadata, "dimension_names", None) or (),
        finest.attrs.get("_ARRAY_DIMENSIONS") or (),
    ]
    for names in named:
        if len(names) != finest.ndim or not all(isinstance(n, str) for n in names):
            continue
        names = [n.lower() for n in names[-3:]]
        if sorted(names) == ["x", "y", "z"]:
            return names
    return None
