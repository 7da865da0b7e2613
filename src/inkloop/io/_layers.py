"""Folders of numbered layer images, read lazily as one Z x H x W stack."""

from __future__ import annotations

import itertools
import re
import threading
from pathlib import Path

import numpy as np

from inkloop._command import shell_quoted
from inkloop.io._cache import CachedLayer, DecodedBlocks, decoded_layer
from inkloop.io._errors import SegmentError
from inkloop.io._images import (
    IMAGE_SUFFIXES,
    ImageInfo,
    WholeImage,
    image_info,
    open_window_reader,
)
from inkloop.io._raw import RawArray

_NUMBER_AT_END = re.compile(r"(\d+)$")


def numbered_layers(folder: Path) -> list[tuple[int, Path]]:
    """Image files of ``folder`` whose names end in a number, sorted by that number. Hidden
    files are not layers: macOS leaves an AppleDouble ``._00.tif`` beside each ``00.tif`` it
    copies to a FAT or network drive."""
    found = []
    for path in folder.iterdir():
        if layer_number(path.name) is not None and path.is_file():
            found.append((layer_number(path.name), path))
    return sorted(found)


def layer_number(name: str) -> int | None:
    """The layer a file of this name is in a layer folder (an image whose name ends in a
    number, not hidden), else None."""
    stem, suffix = Path(name).stem, Path(name).suffix
    match = _NUMBER_AT_END.search(stem)
    if match and not name.startswith(".") and suffix.lower() in IMAGE_SUFFIXES:
        return int(match.group(1))
    return None


def check_numbering(folder: Path, layers: list[tuple[int, Path]]) -> None:
    """Raise SegmentError unless the layer numbers are unique and have no gaps."""
    if not layers:
        raise SegmentError(f"{folder}: no layer images (numbered .tif, .png or .jpg files) found")
    for (number, path), (next_number, next_path) in itertools.pairwise(layers):
        if next_number == number:
            raise SegmentError(
                f"{folder}: {path.name} and {next_path.name} are both layer {number}"
            )
        if next_number != number + 1:
            missing = (
                f"{number + 1}" if next_number == number + 2 else f"{number + 1}-{next_number - 1}"
            )
            raise SegmentError(
                f"{folder}: layer {missing} is missing between {path.name} and {next_path.name}"
            )


def check_same_layout(infos: list[ImageInfo]) -> ImageInfo:
    """Raise SegmentError unless every layer has the first layer's shape and dtype."""
    first = infos[0]
    for info in infos[1:]:
        if info.shape != first.shape or info.dtype != first.dtype:
            odd, usual = (info.shape, info.dtype), (first.shape, first.dtype)
            raise SegmentError(
                f"{info.path}: {unlike_layers('layer', odd, first.path.name, usual)}"
            )
    return first


def unlike_layers(odd_name: str, odd: tuple, usual_name: str, usual: tuple) -> str:
    """How two layers (shape, dtype) of a stack differ: "<odd_name> is HxW dtype, but
    <usual_name> is HxW dtype", for layer files and the pages of a TIFF alike."""
    return f"{odd_name} is {_layout(*odd)}, but {usual_name} is {_layout(*usual)}"


def _layout(shape: tuple, dtype) -> str:
    return f"{'x'.join(map(str, shape))} {np.dtype(dtype)}"


class LayerStack:
    """A Z x H x W array-like over one image file per layer.

    Files are opened on first use and only the requested window is read where the format
    allows it, so dask can wrap this without any copy of the stack in memory. Compressed
    TIFF layers keep what they decoded, within one budget per stack (`DecodedBlocks`); PNG
    and JPEG layers are decoded once into a file read as an uncompressed TIFF
    (`decoded_layer`).
    """

    def __init__(self, paths: list[Path], info: ImageInfo) -> None:
        self.paths = paths
        self.info = info
        self.shape = (len(paths), *info.shape)
        self.dtype = info.dtype
        self.ndim = 3
        self._readers: dict[int, object] = {}
        self._decoded = DecodedBlocks()
        self._opening = [threading.Lock() for _ in paths]  # one decode of a layer at a time

    def __getstate__(self) -> dict:
        """Paths and layout only: a copy in another process opens its own files and cache."""
        return {"paths": self.paths, "info": self.info}

    def __setstate__(self, state: dict) -> None:
        self.__init__(state["paths"], state["info"])

    def __getitem__(self, key) -> np.ndarray:
        z_key, y_key, x_key = _expand(key)
        if isinstance(z_key, slice):
            planes = [self._layer(z)[y_key, x_key] for z in range(*z_key.indices(self.shape[0]))]
            if planes:
                return np.stack(planes)
            # no layer (dask asks so for its meta): opening one may decode it
            plane = np.broadcast_to(np.zeros((), self.dtype), self.shape[1:])[y_key, x_key]
            return np.empty((0, *plane.shape), self.dtype)
        return np.asarray(self._layer(z_key)[y_key, x_key])

    def windows(self, layers, boxes, targets) -> None:
        """Copy each box (y0, x0, y1, x1) on the image, of every layer in ``layers``, into its
        target (len(layers), y1 - y0, x1 - x0): the path of patches (`RawArray.windows`)."""
        for index, z in enumerate(layers):
            reader = self._layer(z)
            if isinstance(reader, RawArray):
                reader.windows((0,), boxes, [target[index : index + 1] for target in targets])
                continue
            for (y0, x0, y1, x1), target in zip(boxes, targets, strict=True):
                target[index] = reader[y0:y1, x0:x1]

    def _layer(self, z: int):
        z = range(self.shape[0])[z]  # raises IndexError for out-of-range, maps negatives
        reader = self._readers.get(z)
        if reader is None:
            with self._opening[z]:
                reader = self._readers.get(z)  # another thread may have opened it meanwhile
                if reader is None:
                    reader = self._readers[z] = self._open(z)
        return reader

    def _open(self, z: int):
        reader = open_window_reader(self.paths[z], self.info)
        if isinstance(reader, WholeImage):
            reader = decoded_layer(self.paths[z], self.info) or reader
        if isinstance(reader, RawArray):  # pread is cheap: the OS page cache keeps it
            return reader
        return CachedLayer(reader, z, self._decoded)


def read_layer_infos(layers: list[tuple[int, Path]]) -> list[ImageInfo]:
    """Header of every layer file: catches corrupt and colour files before any read."""
    infos = [image_info(path) for _, path in layers]
    for info in infos:
        if not info.grey:
            raise SegmentError(_colour_layer(info.path))
    return infos


def _colour_layer(path: Path) -> str:
    """Why a colour layer is refused, with the command that makes grey layers saved as colour
    grey in place (ImageMagick; PNG and TIFF values kept exactly, 8 and 16 bits alike)."""
    files = f"{shell_quoted(path.parent)}/*{path.suffix}"
    return (
        f"{path}: a colour image; layers must be single-channel grey (grey saved as colour "
        f"is made grey in place by `mogrify -colorspace Gray {files}`)"
    )


def _expand(key) -> tuple:
    if not isinstance(key, tuple):
        key = (key,)
    if any(k is Ellipsis for k in key) or len(key) > 3:
        raise IndexError("LayerStack takes at most three slices or integers, no Ellipsis")
    for k in key:
        if not isinstance(k, (slice, int, np.integer)):
            raise IndexError(f"LayerStack takes slices or integers, not {type(k).__name__}")
    return (*key, *(slice(None),) * (3 - len(key)))
