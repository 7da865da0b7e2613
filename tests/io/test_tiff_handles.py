"""Compressed TIFFs read tile by tile (through tifffile's zarr store) keep their file open while
their reader lives, and close it when the reader goes: no ResourceWarning, no file left locked
(Windows) until a garbage collection happens to find it."""

from __future__ import annotations

import gc
import warnings

import numpy as np
import tifffile

from inkloop.io import open_segment
from inkloop.io._images import image_info, open_window_reader
from inkloop.io._tiff_stack import open_tiff_stack


def _unclosed_when_dropped(open_reader) -> list[str]:
    """The ResourceWarnings of the files ``open_reader()``'s reader left open once it went."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ResourceWarning)
        reader = open_reader()
        np.asarray(reader[:])
        del reader
        gc.collect()
    return [str(w.message) for w in caught if issubclass(w.category, ResourceWarning)]


def test_a_compressed_image_closes_its_file_with_its_reader(tmp_path):
    path = tmp_path / "c.tif"
    tifffile.imwrite(path, np.eye(64, dtype=np.uint8), compression="zlib", rowsperstrip=8)
    assert _unclosed_when_dropped(lambda: open_window_reader(path, image_info(path))) == []


def test_a_compressed_stack_closes_its_file_with_its_layers(tmp_path):
    path = tmp_path / "s.tif"
    stack = np.arange(3 * 32 * 48, dtype=np.uint16).reshape(3, 32, 48)
    tifffile.imwrite(path, stack, compression="zlib", rowsperstrip=8)
    assert _unclosed_when_dropped(lambda: open_tiff_stack(path)[0]) == []
    assert _unclosed_when_dropped(lambda: open_segment(path).volume) == []
