"""Where a segment's layers live: format detection and one opener per on-disk layout."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from inkloop.io._errors import SegmentError
from inkloop.io._images import TIFF_SUFFIXES, check_tiff_complete, tiff_data_end
from inkloop.io._layers import (
    LayerStack,
    check_numbering,
    check_same_layout,
    numbered_layers,
    read_layer_infos,
)
from inkloop.io._raw import RawArray

LAYER_FOLDERS = {"layers": "vesuvius", "surface_volume": "kaggle"}
_ZARR_MARKERS = (".zarray", ".zgroup", "zarr.json")


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
    """The segment format of ``path`` from cheap checks, or None if it is not a segment."""
    path = Path(path)
    if not path.exists():
        return None
    if path.is_dir():
        if path.suffix.lower() == ".zarr" or any((path / m).exists() for m in _ZARR_MARKERS):
            return "zarr"
        for folder, fmt in LAYER_FOLDERS.items():
            if (path / folder).is_dir():
                return fmt
        return "folder" if numbered_layers(path) else None
    if path.suffix.lower() in TIFF_SUFFIXES and _tiff_page_count(path) > 1:
        return "tiff-stack"
    return None


def open_source(path: Path) -> LayerSource:
    """Open the layers behind ``path``; raise SegmentError saying why if it is not a segment."""
    if not path.exists():
        raise SegmentError(f"{path}: no such file or folder")
    fmt = detect_format(path)
    if fmt == "zarr":
        return _open_zarr(path)
    if path.is_file():
        if path.suffix.lower() in TIFF_SUFFIXES:
            return _open_tiff_stack(path)
        raise SegmentError(
            f"{path}: not a segment (expected a layer folder, a multi-page TIFF or a zarr)"
        )
    if fmt in LAYER_FOLDERS.values():
        folder = next(path / f for f, kind in LAYER_FOLDERS.items() if kind == fmt)
        return _open_layer_folder(folder, fmt, name=path.name, sidecar_folder=path)
    if not any(path.iterdir()):
        raise SegmentError(f"{path}: folder is empty")
    return _open_layer_folder(path, "folder", name=path.name, sidecar_folder=path)


def _open_layer_folder(folder: Path, fmt: str, *, name: str, sidecar_folder: Path) -> LayerSource:
    layers = numbered_layers(folder)
    check_numbering(folder, layers)
    info = check_same_layout(read_layer_infos(layers))
    stack = LayerStack([p for _, p in layers], info)
    chunks = _layer_chunks(stack.shape)
    return LayerSource(
        format=fmt,
        name=name,
        sidecar_folder=sidecar_folder,
        levels=[_lazy(stack, chunks, key=folder)],
        layer_numbers=[n for n, _ in layers],
        plain_sidecars=True,
        direct=stack,
    )


def _open_tiff_stack(path: Path) -> LayerSource:
    import tifffile
    import zarr

    try:
        with tifffile.TiffFile(path) as tif:
            series = tif.series[0]
            shape = tuple(n for n in series.shape if n != 1)
            contiguous = series.dataoffset is not None
            contiguous_end = series.dataoffset + series.nbytes if contiguous else None
            check_tiff_complete(path, contiguous_end or tiff_data_end(series.pages))
            file_dtype = np.dtype(series.dtype).newbyteorder(tif.byteorder)
    except SegmentError:
        raise
    except Exception as error:  # tifffile raises several types for damaged files
        raise SegmentError(f"{path}: not a readable TIFF ({error})") from error
    if len(shape) != 3:
        raise SegmentError(f"{path}: not a segment: one {shape} image, not a stack of layers")
    if contiguous:
        stack = RawArray(path, series.dataoffset, shape, file_dtype)
        volume = _lazy(stack, _layer_chunks(shape), key=path)
    else:
        stack = zarr.open(tifffile.imread(path, aszarr=True), mode="r")
        volume = _as_volume(path, _lazy(stack, stack.chunks, key=path))
    name = path.stem if path.suffix else path.name
    return _single_level(name, "tiff-stack", path.parent, volume, stack)


def _open_zarr(path: Path) -> LayerSource:
    import zarr

    try:
        node = zarr.open(str(path), mode="r")
    except Exception as error:  # zarr raises several types for damaged stores
        raise SegmentError(f"{path}: not a readable zarr ({error})") from error
    return zarr_source(node, str(path), path.parent, stamp=path.stat().st_mtime_ns)


def zarr_source(node, where: str, sidecar_folder: Path, *, stamp, wrap=None) -> LayerSource:
    """The layers of the zarr array or (OME-)zarr group ``node`` found at ``where`` (a path
    or URL); ``stamp`` tells versions apart; ``wrap(array, where)`` guards remote reads."""
    import zarr

    wrap = wrap or (lambda array, _where: array)
    name = where.rstrip("/").rsplit("/", 1)[-1].removesuffix(".zarr").removesuffix(".ome")
    if isinstance(node, zarr.Array):
        array = wrap(node, where)
        volume = _as_volume(where, _lazy(array, node.chunks, key=where, stamp=stamp))
        return _single_level(name, "zarr", sidecar_folder, volume, array)
    paths = _multiscale_paths(node)
    if not paths:
        raise SegmentError(f"{where}: zarr group has no multiscales metadata and no array '0'")
    arrays = [wrap(node[p], f"{where}/{p}") for p in paths]
    levels = [
        _as_volume(f"{where}/{p}", _lazy(a, a.chunks, key=f"{where}/{p}", stamp=stamp))
        for p, a in zip(paths, arrays, strict=True)
    ]
    source = _single_level(name, "ome-zarr", sidecar_folder, levels[0], arrays[0])
    source.levels = levels
    return source


def _single_level(name: str, fmt: str, sidecar_folder: Path, volume, array) -> LayerSource:
    return LayerSource(
        format=fmt,
        name=name,
        sidecar_folder=sidecar_folder,
        levels=[volume],
        layer_numbers=list(range(volume.shape[0])),
        direct=array if array.ndim == 3 else _LeadingAxesDropped(array, array.ndim - 3),
    )


class _LeadingAxesDropped:
    """Index a (1, ..., Z, H, W) array as Z x H x W (OME-Zarr's singleton t and c axes)."""

    def __init__(self, array, leading: int) -> None:
        self.array, self.leading = array, leading

    def __getitem__(self, key):
        return self.array[(0,) * self.leading + tuple(key)]


def _lazy(array, chunks, *, key, stamp=None):
    """Wrap an array-like in dask; the name comes from the path (or URL) and ``stamp`` (its
    mtime by default: a rewritten segment must not hit napari's dask cache), so no data is
    hashed."""
    import dask.array as da
    from dask.base import tokenize

    stamp = Path(key).stat().st_mtime_ns if stamp is None else stamp
    name = f"inkloop-{tokenize(str(key), stamp, array.shape, str(array.dtype), chunks)}"
    return da.from_array(array, chunks=chunks, name=name, lock=False, asarray=True)


def _multiscale_paths(group) -> list[str]:
    attrs = group.attrs.asdict()
    multiscales = attrs.get("multiscales") or attrs.get("ome", {}).get("multiscales")
    if multiscales:
        return [str(d["path"]) for d in multiscales[0]["datasets"]]
    return ["0"] if "0" in group else []


def _as_volume(path, volume):
    """Drop leading singleton axes (OME's t, c) so the dask array is Z x H x W."""
    while volume.ndim > 3 and volume.shape[0] == 1:
        volume = volume[0]
    if volume.ndim != 3:
        raise SegmentError(f"{path}: expected a Z x H x W volume, found shape {volume.shape}")
    return volume


def _layer_chunks(shape: tuple[int, ...]) -> tuple[int, int, int]:
    """One chunk per layer: dask slices windows into the chunk's read, so a patch of 16 layers
    is 16 small reads (with 2048² chunks it was up to 64 tasks, 3x slower), and a full
    layer for display is one read."""
    return (1, shape[1], shape[2])


def _tiff_page_count(path: Path) -> int:
    import tifffile

    try:
        with tifffile.TiffFile(path) as tif:
            return len(tif.pages)
    except Exception:  # not a TIFF we can read: the plugin declines it, napari tries others
        return 0
