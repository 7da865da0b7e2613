"""Where a segment's layers live: format detection and one opener per on-disk layout."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from inkloop._notify import notify
from inkloop.io._decoding import DecodingNamed
from inkloop.io._errors import SegmentError
from inkloop.io._images import TIFF_SUFFIXES, image_info
from inkloop.io._layer_folders import (
    LAYER_FOLDERS,
    layer_folder,
    layer_folder_format,
    no_layer_folder,
    server_files,
)
from inkloop.io._layers import (
    LayerStack,
    check_numbering,
    check_same_layout,
    numbered_layers,
    read_layer_infos,
)
from inkloop.io._lazy import ZYX, as_volume, layer_chunks, lazy, to_zyx, zyx_direct
from inkloop.io._side_lookup import find_side_files
from inkloop.io._sidefiles import segment_id
from inkloop.io._tiff_stack import is_tiff_stack, open_tiff_stack
from inkloop.io._writable import writable_side_folder
from inkloop.io._zarr_axes import multiscales, zyx_order
from inkloop.io._zarr_contents import check_layer_array

_ZARR_MARKERS = (".zarray", ".zgroup", "zarr.json")
_NAME_ENDINGS = (".ome.tiff", ".ome.tif", ".ome.zarr", ".tiff", ".tif", ".zarr")


@dataclass
class LayerSource:
    """The raw layers of a segment before windowing, as lazy dask arrays."""

    format: str
    name: str
    sidecar_folder: Path
    levels: list  # dask arrays, Z x H x W, finest first
    layer_numbers: list[int]
    plain_sidecars: bool = False  # accept "mask.png" as well as "<name>_mask.png"
    direct: object = None  # level 0 as a plain array-like (Z x H x W slicing), no dask


def detect_format(path: str | Path) -> str | None:
    """The segment format of ``path`` from its name and headers (no pixels), or None if it
    is not a segment: a TIFF of one image or of colour pages, a 2D zarr, a folder of
    numbered colour photos."""
    path = Path(path)
    fmt = _layout(path)
    if fmt == "zarr":
        return fmt if _zarr_is_volume(path) else None
    if fmt == "folder":
        return fmt if _first_layer_is_grey(path) else None
    if fmt is None and path.suffix.lower() in TIFF_SUFFIXES and path.is_file():
        return "tiff-stack" if is_tiff_stack(path) else None
    return fmt


def segment_folder_of(path: Path) -> Path:
    """The segment whose layer folder ``path`` is (``<id>/layers``, ``<id>/surface_volume``, in
    any letter case), said so; else ``path``. Opened as a segment of its own, it would be named
    "layers" and find none of its segment's files."""
    if layer_folder_format(path) is None or not path.is_dir():
        return path
    notify(f"{path} is the layer folder of the segment {path.parent.name}: opened {path.parent}")
    return path.parent


def open_source(path: Path) -> LayerSource:
    """Open the layers behind ``path``; raise SegmentError saying why if it is not a segment."""
    if not path.exists():
        raise SegmentError(f"{path}: no such file or folder")
    fmt = _layout(path)
    if fmt == "zarr":
        return _open_zarr(path)
    if path.is_file():
        if path.suffix.lower() in TIFF_SUFFIXES:
            stack, volume = open_tiff_stack(path)
            name = segment_name(path.name)
            folder = writable_side_folder(path.parent, name)
            return _single_level(name, "tiff-stack", folder, volume, stack)
        raise SegmentError(
            f"{path}: not a segment (expected a layer folder, a multi-page TIFF or a zarr)"
        )
    if fmt in LAYER_FOLDERS.values():
        folder = layer_folder(path)
        if folder is None:
            raise SegmentError(no_layer_folder(path))
        return _open_layer_folder(folder, numbered_layers(folder), fmt, sidecar_folder=path)
    if not any(path.iterdir()):
        raise SegmentError(f"{path}: folder is empty")
    return _open_layer_folder(path, folder_layers(path), "folder", sidecar_folder=path)


def _layout(path: Path) -> str | None:
    """The layout of a folder from its names alone (zarr, vesuvius, kaggle or folder); a data
    server's segment folder without its layers is "vesuvius" (opening says what is missing)."""
    if not path.is_dir():
        return None
    if _is_zarr(path):
        return "zarr"
    if (folder := layer_folder(path)) is not None:
        return layer_folder_format(folder)
    if folder_layers(path):
        return "folder"
    return "vesuvius" if server_files(path, segment_id(path)) else None


def folder_layers(folder: Path) -> list[tuple[int, Path]]:
    """The numbered layer images of a plain layer folder: a numbered image named for the
    segment's id, apart from the others' numbers, is its texture (the server's
    ``<id>.tif`` beside ``layers/``, or among them in a flattened download), not a layer."""
    numbered, texture = numbered_layers(folder), segment_id(folder)
    numbers = {number for number, _ in numbered}
    apart = {n for n in numbers if n - 1 not in numbers and n + 1 not in numbers}
    return [(n, p) for n, p in numbered if not (n in apart and p.stem == texture)]


def _is_zarr(path: Path) -> bool:
    return path.suffix.lower() == ".zarr" or any((path / m).exists() for m in _ZARR_MARKERS)


def _first_layer_is_grey(folder: Path) -> bool:
    """Whether a folder's first numbered image is grey (a layer), not a colour photo; one
    that cannot be read is left to `open_source` to name."""
    try:
        return image_info(folder_layers(folder)[0][1]).grey
    except SegmentError:
        return True


def _open_layer_folder(folder: Path, layers, fmt: str, *, sidecar_folder: Path) -> LayerSource:
    check_numbering(folder, layers)
    stack = LayerStack([p for _, p in layers], check_same_layout(read_layer_infos(layers)))
    name = segment_id(sidecar_folder)
    if name != sidecar_folder.name:
        notify(f"{sidecar_folder}: its side files are named for {name}: opened as segment {name}")
    return LayerSource(
        format=fmt,
        name=name,
        sidecar_folder=writable_side_folder(sidecar_folder, name, plain=True),
        levels=[lazy(stack, layer_chunks(stack.shape), key=folder)],
        layer_numbers=[n for n, _ in layers],
        plain_sidecars=True,
        direct=stack,
    )


def segment_name(where: str) -> str:
    """A segment file's name without its ending, from its name, path or URL: x.tif, x.ome.tif,
    x.zarr, x.ome.zarr, https://host/x.zarr/ -> x."""
    file_name = where.rstrip("/").rsplit("/", 1)[-1]
    lower = file_name.lower()
    for ending in _NAME_ENDINGS:
        if lower.endswith(ending) and len(file_name) > len(ending):
            return file_name[: -len(ending)]
    return file_name


def _open_zarr(path: Path) -> LayerSource:
    import zarr

    try:
        node = zarr.open(str(path), mode="r")
    except Exception as error:  # zarr raises several types for damaged stores
        raise SegmentError(f"{path}: not a readable zarr ({error})") from error
    store = _zarr_store(path)  # a level (x.zarr/0) is named, and labelled, as its store
    name = segment_name(store.name)
    folder = writable_side_folder(store.parent, name)
    return zarr_source(node, str(path), folder, stamp=path.stat().st_mtime_ns, name=name)


def _zarr_store(path: Path) -> Path:
    """The store whose pyramid level ``path`` is (x.zarr/0), or ``path`` itself: an array of
    its own in a group of several segments keeps its own name and side files."""
    import zarr

    while path.parent != path and _is_zarr(path.parent):
        try:
            parent = zarr.open_group(str(path.parent), mode="r")
        except Exception:  # an array, or a damaged store: path is no level of it
            break
        if path.name not in multiscale_paths(parent):
            break
        path = path.parent
    return path


def _zarr_is_volume(path: Path) -> bool:
    """Whether a local zarr's (first level) array is Z x H x W after leading singletons,
    from its metadata; a store that cannot be read is left to `open_source` to name."""
    import zarr

    try:
        node = zarr.open(str(path), mode="r")
    except Exception:  # zarr raises several types for damaged stores
        return True
    if not isinstance(node, zarr.Array):
        levels = multiscale_paths(node)
        if not levels:
            return False
        node = node[levels[0]]
    shape = list(node.shape)
    while len(shape) > 3 and shape[0] == 1:
        shape.pop(0)
    return len(shape) == 3


def zarr_source(
    node, where: str, sidecar_folder: Path, *, stamp, wrap=None, name: str | None = None
) -> LayerSource:
    """The layers of the zarr array or (OME-)zarr group ``node`` found at ``where`` (a path
    or URL), named ``name`` (by default after ``where``); ``stamp`` tells versions apart;
    ``wrap(array, where)`` guards reads (by default a damaged chunk is named: `DecodingNamed`).
    Refuses, before any chunk is read, arrays that are no CT layers: `check_layer_array`."""
    import zarr

    wrap = wrap or (lambda array, where: DecodingNamed(array, where, chunk_files=True))
    name = name or segment_name(where)
    stored = {where: node} if isinstance(node, zarr.Array) else _levels(node, where)
    for place, array in stored.items():
        check_layer_array(array, place)
    finest = next(iter(stored.values()))  # all levels in its order, which, where the store
    # names no axes, the side files' sizes may tell
    order = zyx_order(node, finest, where, lambda: find_side_files(sidecar_folder, name).values())
    arrays = [wrap(array, place) for place, array in stored.items()]
    levels = [
        to_zyx(as_volume(place, lazy(a, a.chunks, key=place, stamp=stamp)), order)
        for place, a in zip(stored, arrays, strict=True)
    ]
    fmt = "zarr" if isinstance(node, zarr.Array) else "ome-zarr"
    source = _single_level(name, fmt, sidecar_folder, levels[0], arrays[0], order)
    source.levels = levels
    return source


def _levels(group, where: str) -> dict:
    """The pyramid levels of an OME-Zarr ``group`` by where they are, finest first."""
    paths = multiscale_paths(group)
    if not paths:
        raise SegmentError(f"{where}: zarr group has no multiscales metadata and no array '0'")
    return {f"{where}/{p}": _level(group, where, p) for p in paths}


def _level(group, where: str, path: str):
    """The pyramid level ``path`` of ``group``, or why it is not there."""
    try:
        return group[path]
    except KeyError:
        missing = f"{where}: its multiscales metadata names the level {path!r}, which is not there"
        raise SegmentError(missing) from None


def _single_level(name: str, fmt: str, folder: Path, volume, array, order=ZYX) -> LayerSource:
    return LayerSource(
        format=fmt,
        name=name,
        sidecar_folder=folder,
        levels=[volume],
        layer_numbers=list(range(volume.shape[0])),
        direct=zyx_direct(array, order),
    )


def multiscale_paths(group) -> list[str]:
    """The paths of a zarr group's pyramid levels, finest first (or "0" alone, if it has one)."""
    entry = multiscales(group)
    if entry:
        return [str(d["path"]) for d in entry["datasets"]]
    return ["0"] if "0" in group else []
