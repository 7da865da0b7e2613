"""Which axes of a segment zarr are its layers, rows and columns: the store's axis names where
it has them, else the layers are the first axis unless the last alone is the smallest (a
segment stored depth-last, H x W x Z, as the community's villa loaders accept it)."""

from __future__ import annotations

from inkloop._notify import notify
from inkloop.io._lazy import ZYX


def multiscales(group) -> dict | None:
    """A zarr group's first OME multiscales entry (OME-Zarr 0.5 nests it under "ome"), or None."""
    attrs = group.attrs.asdict()
    entries = attrs.get("multiscales") or attrs.get("ome", {}).get("multiscales")
    return entries[0] if entries else None


def zyx_order(node, finest, where: str) -> tuple[int, int, int]:
    """The stored axes of z, y and x among the last three of ``finest``, the array of ``node``
    (itself, or the first level of an OME group): named by the store where its names are z, y
    and x in any order, else `ZYX` unless the last axis alone is the smallest (then
    (2, 0, 1)). Says once, naming ``where``, when the order is not `ZYX`."""
    shape = tuple(int(n) for n in finest.shape[-3:])
    names = _spatial_names(node, finest)
    if names is not None:
        order = tuple(names.index(axis) for axis in "zyx")
    else:
        order = (2, 0, 1) if shape[2] < min(shape[:2]) else ZYX
    if order != ZYX:
        depth, height, width = (shape[axis] for axis in order)
        how = (
            f"its axes are named {', '.join(names)}"
            if names
            else f"stored depth-last, {' x '.join(map(str, shape))} (its smallest axis taken "
            "as the layers: it names no axes z, y, x)"
        )
        notify(f"{where}: {how}: read as {depth} layers of {height} x {width}")
    return order


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
