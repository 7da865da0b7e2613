"""`open_segment`: one lazy Segment from any supported layout, with its mask and labels."""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import numpy as np

from inkloop.io._errors import SegmentError
from inkloop.io._label_images import decode_label_image
from inkloop.io._raw import window_ranges
from inkloop.io._remote import (
    TIMEOUT_S,
    GuardedArray,
    adopt_earlier_folder,
    guarded,
    is_url,
    local_folder,
    open_zarr_url,
    refuse_other_schemes,
    without_login,
)
from inkloop.io._remote_sides import check_side_image, fetch_side_files
from inkloop.io._side_lookup import find_side_files
from inkloop.io._sources import (
    LayerSource,
    multiscale_paths,
    open_source,
    segment_folder_of,
    segment_name,
    zarr_source,
)


@dataclass(frozen=True)
class Segment:
    """A scroll segment opened lazily: nothing but headers is read until data is asked for.

    ``volume`` is a dask array (Z x H x W, original dtype) after reversal and z-window;
    ``levels`` is the multiscale pyramid for display (``levels[0] is volume``).
    ``mask`` (True = papyrus), ``ink_labels`` (uint8, 255 = ink, grey = soft) and
    ``supervision`` (True = labelled) are lazy H x W dask arrays, or None when absent.
    """

    name: str
    path: Path | str  # a URL (str) for a segment on an HTTP server
    format: str
    volume: object
    levels: tuple = ()
    layer_numbers: tuple[int, ...] = ()
    mask: object | None = None
    ink_labels: object | None = None
    supervision: object | None = None
    files: dict[str, Path] = field(default_factory=dict)
    sidecar_folder: Path | None = None  # where <name>_mask.png and the label files live
    sidecar_server: str | None = None  # a URL's: the server folder they are fetched from
    direct: object = field(default=None, repr=False)  # the unwindowed layers, without dask
    direct_layers: tuple[int, ...] = ()  # volume layer i is direct layer direct_layers[i]

    @property
    def shape(self) -> tuple[int, int, int]:
        return tuple(int(n) for n in self.volume.shape)

    def read(self, layers, rows: slice, cols: slice) -> np.ndarray:
        """``volume[layers, rows, cols]`` as numpy, for an index list ``layers`` and in-bounds
        slices. Reads the files directly: for patches of a few hundred pixels, building and
        running a dask graph costs twice the read itself."""
        if self.direct is None:
            return np.asarray(self.volume[np.asarray(layers), rows, cols].compute(scheduler="sync"))
        if hasattr(self.direct, "windows"):  # layer files, an uncompressed multi-page TIFF
            rows, cols = window_ranges(rows, cols, self.shape[1:])
            out = np.empty((len(layers), len(rows), len(cols)), self.dtype)
            self.read_into(layers, [(rows.start, cols.start, rows.stop, cols.stop)], [out])
            return out
        source = np.asarray([self.direct_layers[i] for i in layers])
        first, last = int(source.min()), int(source.max()) + 1
        block = np.asarray(self.direct[first:last, rows, cols])
        return block[source - first]

    def read_into(self, layers, boxes, targets) -> None:
        """Copy ``volume[layers, y0:y1, x0:x1]`` of each box (y0, x0, y1, x1) on the image into
        its target (len(layers), y1 - y0, x1 - x0). Layer files and uncompressed TIFFs copy
        all boxes of a layer through one map (a training batch's windows in a few
        microseconds each); other sources read box by box."""
        if self.direct is not None and hasattr(self.direct, "windows"):
            self.direct.windows([self.direct_layers[i] for i in layers], boxes, targets)
            return
        for (y0, x0, y1, x1), target in zip(boxes, targets, strict=True):
            target[...] = self.read(layers, slice(y0, y1), slice(x0, x1))

    @property
    def dtype(self) -> np.dtype:
        return self.volume.dtype

    def check_side_image(self, path: Path) -> None:
        """Raise SegmentError unless side image ``path`` (a mask, labels) is H x W, from its
        header, with the fix: for a URL's, one that does not fetch it again."""
        check_side_image(path, self.shape[1:], self.sidecar_server)


def as_segment(segment: Segment | str | Path) -> Segment:
    """``segment`` itself, or opened (`open_segment`) if it is a path or URL."""
    return open_segment(segment) if isinstance(segment, str | Path) else segment


def open_segment(
    path: str | Path,
    *,
    z_start: int | None = None,
    z_count: int | None = None,
    reverse: bool = False,
    cache: str | Path | bool | None = None,
    timeout: float = TIMEOUT_S,
) -> Segment:
    """Open a segment lazily from a layer folder, a multi-page TIFF or a (OME-)zarr, on disk
    or at an http(s):// URL.

    ``reverse=True`` flips the layer order first (for segments stored back to front);
    ``z_start``/``z_count`` then select a window of that order (default: all layers).
    A URL is read through fsspec, only the chunks asked for, each read failing after
    ``timeout`` s of silence; its side files (mask, labels) are fetched into a local folder
    (`inkloop.io.local_folder`), and the chunks read are kept in ``cache`` (default:
    $INKLOOP_CHUNK_CACHE, else ``chunks`` in inkloop's cache folder, ~/.cache/inkloop on
    Linux; ``False``, or "off" there: none).
    Raises SegmentError naming the file (or URL) and the problem for anything unusable; a
    mask or label image, when it is first used.
    """
    if is_url(path):
        source, server = _open_remote(path, cache, timeout)  # where its side files come from
    else:
        path, server = _local_path(path), None
        source = open_source(path)
    volume = source.levels[0]
    shown = without_login(path) if is_url(path) else path  # what messages name
    window = _window(shown, volume.shape[0], z_start, z_count)
    order = slice(None, None, -1) if reverse else slice(None)
    shape = volume.shape[1:]
    sidecars = find_side_files(source.sidecar_folder, source.name, source.plain_sidecars, shape)
    layers = {key: _load_sidecar(file, shape, key, server) for key, file in sidecars.items()}
    return Segment(
        name=source.name,
        path=path,
        format=source.format,
        volume=volume[order][window],
        levels=_display_levels(source, order, window),
        layer_numbers=tuple(source.layer_numbers[order][window]),
        direct=source.direct,
        direct_layers=tuple(range(volume.shape[0]))[order][window],
        files=sidecars,
        sidecar_folder=source.sidecar_folder,
        sidecar_server=server,
        **layers,
    )


def _local_path(path: str | Path) -> Path:
    """``path`` made absolute, so that "." and ".." name their folders; a segment's layer
    folder stands for its segment."""
    if not str(path).strip():
        raise SegmentError("no segment path given")
    refuse_other_schemes(path)
    return segment_folder_of(Path(path).expanduser().resolve())


def _open_remote(url: str, cache, timeout: float) -> tuple[LayerSource, str]:
    """A remote zarr's layers, with the side files the server has beside it fetched, and
    the server's folder they come from; a level of a pyramid (x.zarr/0) opens its store,
    as on disk."""
    node = open_zarr_url(url, cache=cache, timeout=timeout)
    url, node = _store_of_level(url, node, cache, timeout)
    folder = local_folder(url)
    adopt_earlier_folder(url, folder, cache)
    stamp = json.dumps(node.metadata.to_dict(), sort_keys=True, default=str)
    where = without_login(url)  # its levels' metadata are read here: a failure names it
    name = segment_name(where)
    # before its layers are opened: a mask's size may tell their order
    server, _, zarr_name = url.rstrip("/").rpartition("/")
    fetch_side_files(server, name, zarr_name, folder, timeout, node)
    source = guarded(
        url,
        lambda: zarr_source(node, where, folder, stamp=stamp, wrap=GuardedArray, name=name),
    )
    return source, without_login(server)


def _store_of_level(url: str, node, cache, timeout: float):
    """(URL, node) of the (OME-)zarr group whose multiscales level the array at ``url`` is,
    or as given: an array of its own, or in a group of several segments."""
    import zarr

    parent, _, level = url.rstrip("/").rpartition("/")
    if not isinstance(node, zarr.Array) or not urlsplit(parent).path:
        return url, node
    try:
        group = open_zarr_url(parent, cache=cache, timeout=timeout)
    except SegmentError as error:
        if isinstance(error.__cause__, FileNotFoundError):  # no zarr above it
            return url, node
        raise
    if isinstance(group, zarr.Group) and level in multiscale_paths(group):
        return parent, group
    return url, node


def _window(path, depth: int, z_start: int | None, z_count: int | None) -> slice:
    start = 0 if z_start is None else z_start
    count = depth - start if z_count is None else z_count
    if not 0 <= start < depth or count < 1 or start + count > depth:
        raise SegmentError(
            f"{path}: z-window start {start}, count {count} does not fit its {depth} layers"
        )
    return slice(start, start + count)


def _display_levels(source: LayerSource, order: slice, window: slice) -> tuple:
    """Pyramid levels with the same window; levels that also shrink Z only for the full stack."""
    depth = source.levels[0].shape[0]
    whole = window == slice(0, depth) and order == slice(None)
    return tuple(
        level[order][window] if level.shape[0] == depth else level
        for level in source.levels
        if level.shape[0] == depth or whole
    )


def _load_sidecar(path: Path, shape: tuple[int, int], key: str, server: str | None = None):
    """A lazy H x W array for a mask or label image, read, checked and decoded when it is
    used: a damaged or wrong-sized label file beside the layers must not block labels
    given explicitly (``--labels``). ``server``: the folder it is fetched from, for a URL's."""
    import dask
    import dask.array as da

    dtype = np.uint8 if key == "ink_labels" else np.bool_
    # its mtime in the name: labels saved anew must not come back from napari's dask cache
    stamp = path.stat().st_mtime_ns
    pixels = dask.delayed(_decode_sidecar, pure=True)(path, tuple(shape), key, stamp, server)
    image = da.from_delayed(pixels, shape=tuple(shape), dtype=dtype)
    return _side_image(image.dask, image.name, image.chunks, image.dtype, image._meta)


def _side_image(graph, name: str, chunks, dtype, meta):
    """A one-chunk dask array whose compute (``np.asarray``, ``.compute()``, ``dask.compute``)
    is its chunk itself. dask copies a one-chunk result, lest it write to a buffer kept in the
    graph; a side image's task decodes its file afresh, so the copy would only hold the
    image twice (0.6 GB more for a 20000 x 30000 mask). Slices of it are plain dask arrays."""
    if any(len(sizes) != 1 for sizes in chunks):
        raise ValueError(f"a side image is one chunk, not {chunks}")
    return _side_image_type()(graph, name, chunks, dtype, meta)


@functools.cache
def _side_image_type() -> type:
    import dask.array as da  # here: importing inkloop.io must not load dask

    class SideImage(da.Array):
        __slots__ = ()

        def __dask_postcompute__(self):
            return _the_chunk, ()

        def __reduce__(self):  # dask's own pickles as a plain Array
            return _side_image, (self.dask, self.name, self.chunks, self.dtype, self._meta)

    return SideImage


def _the_chunk(results):
    """The one chunk of a `_side_image`'s computed results (nested one-item lists)."""
    while isinstance(results, list | tuple):
        (results,) = results
    return results


def _decode_sidecar(
    path: Path, shape: tuple[int, int], key: str, _stamp: int, server: str | None = None
) -> np.ndarray:
    check_side_image(path, shape, server)
    return decode_label_image(path, ink=key == "ink_labels", shape=shape)
