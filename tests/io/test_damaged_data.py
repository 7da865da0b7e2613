"""Compressed layer data that fails to decode (a damaged or partly downloaded file) is one
SegmentError naming its file or chunk, however the segment is read, and one line from the
command (it was a codec's RuntimeError, told as a bug in inkloop with its traceback)."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
import tifffile
import zarr

from inkloop.cli import main
from inkloop.io import SegmentError, open_segment
from inkloop.io._decoding import DecodingNamed
from inkloop.synthetic import write_segment

SHAPE = (8, 64, 96)
DAMAGED = "the file may be damaged or partly downloaded"


def _spoil_tiff_page(path: Path, page: int) -> None:
    """Overwrite the first strip or tile of ``page``'s compressed data with 0x5a bytes."""
    with tifffile.TiffFile(path) as tif:
        start, count = tif.pages[page].dataoffsets[0], tif.pages[page].databytecounts[0]
    data = bytearray(path.read_bytes())
    data[start : start + count] = b"\x5a" * count
    path.write_bytes(bytes(data))


def _zlib_folder(tmp_path) -> Path:
    return write_segment(tmp_path / "20240101000000", *SHAPE[1:], SHAPE[0], compression="zlib")


def _reads_fail_naming(path, named: Path) -> None:
    """Both ways a segment is read, straight from its files and through dask, say one thing."""
    segment = open_segment(path)
    told = re.escape(f"{named}: cannot be decoded (") + ".*" + re.escape(f"): {DAMAGED}")
    with pytest.raises(SegmentError, match=f"^{told}$"):
        segment.read(range(SHAPE[0]), slice(0, SHAPE[1]), slice(0, SHAPE[2]))
    with pytest.raises(SegmentError, match=f"^{told}$"):
        segment.volume.compute(scheduler="sync")


def test_a_damaged_compressed_tiff_layer_is_named(tmp_path):
    folder = _zlib_folder(tmp_path)
    _spoil_tiff_page(folder / "layers" / "03.tif", 0)
    _reads_fail_naming(folder, folder / "layers" / "03.tif")


def test_a_damaged_page_of_a_compressed_multipage_tiff_is_named(tmp_path):
    stack = tmp_path / "stack.tif"
    tifffile.imwrite(
        stack, np.arange(np.prod(SHAPE), dtype=np.uint16).reshape(SHAPE), compression="zlib"
    )
    _spoil_tiff_page(stack, 2)
    _reads_fail_naming(stack, stack)


@pytest.mark.parametrize(
    ("compressors", "damage"),
    [("auto", b"garbage\n"), (None, b"\x07" * 100)],
    ids=["zstd-garbage", "raw-cut-short"],
)
def test_a_damaged_zarr_chunk_is_named_by_its_file(tmp_path, compressors, damage):
    store = tmp_path / "seg.zarr"
    array = zarr.create_array(
        store, shape=SHAPE, chunks=(8, 32, 32), dtype="uint8", compressors=compressors
    )
    array[:] = 7
    chunk = store / "c" / "0" / "1" / "2"
    chunk.write_bytes(damage)
    _reads_fail_naming(store, chunk)


def test_the_command_says_it_in_one_line(tmp_path, capsys):
    folder = _zlib_folder(tmp_path)
    layer = folder / "layers" / "05.tif"
    _spoil_tiff_page(layer, 0)
    assert main(["check", str(folder)]) == 1
    error = capsys.readouterr().err
    assert error.count("\n") == 1, error
    assert error.startswith(f"inkloop check: error: {layer}: cannot be decoded (")
    assert error.endswith(f"): {DAMAGED}\n")


class _Failing:
    shape, dtype, ndim, chunks = (4, 4), np.dtype(np.uint8), 2, (4, 4)

    def __init__(self, error: BaseException) -> None:
        self.error = error

    def __getitem__(self, key):
        raise self.error


@pytest.mark.parametrize("error", [MemoryError(), KeyboardInterrupt(), IndexError("4 > 3")])
def test_only_decoding_errors_are_told_as_damage(error):
    with pytest.raises(type(error)):
        DecodingNamed(_Failing(error), "x.tif")[0:4, 0:4]


def test_a_bad_key_is_the_callers_error_not_damage(tmp_path):
    """zarr raises ValueError for a zero step, as a codec does for bad data: it is not told
    as a damaged file."""
    where = tmp_path / "layer.zarr"
    layer = DecodingNamed(zarr.open(where, mode="w", shape=SHAPE[1:]), where)
    with pytest.raises(ValueError, match="step cannot be zero") as raised:
        layer[::0]
    assert not isinstance(raised.value, SegmentError)
