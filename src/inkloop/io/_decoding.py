"""Compressed layer data that fails to decode (a damaged or partly downloaded file) is told as
one SegmentError naming the file, not as a codec's error from deep inside zarr or tifffile."""

from __future__ import annotations

import gzip
import itertools
import lzma
import zlib

import numpy as np

from inkloop.io._errors import SegmentError
from inkloop.io._raw import _as_range

# what decoders raise for bad data: imagecodecs' (TIFF) and numcodecs' (zarr) errors are
# RuntimeErrors, zlib, lzma and gzip raise their own, a chunk of the wrong size fails to
# reshape (ValueError) and a cut-off stream ends early (EOFError)
DECODE_ERRORS = (RuntimeError, ValueError, EOFError, zlib.error, lzma.LZMAError, gzip.BadGzipFile)


def cannot_decode(where, error: BaseException) -> SegmentError:
    """The one message for data at ``where`` (a file or chunk) that fails to decode."""
    return SegmentError(
        f"{where}: cannot be decoded ({error}): the file may be damaged or partly downloaded"
    )


def _check_key(key, shape) -> None:
    """Raise as numpy does where ``key`` cannot index an array of ``shape`` (costs nothing:
    the stand-in is one broadcast byte)."""
    np.broadcast_to(np.zeros((), bool), shape)[key]


class DecodingNamed:
    """A compressed zarr array (a zarr store's, or a TIFF's through tifffile) whose reads that
    fail to decode raise `cannot_decode` naming ``where``, or for a zarr store's array
    (``chunk_files``) the file of the chunk that fails."""

    def __init__(self, array, where, *, chunk_files: bool = False) -> None:
        self.array, self.where, self.chunk_files = array, where, chunk_files
        self.shape, self.dtype, self.ndim = array.shape, array.dtype, array.ndim
        self.chunks = array.chunks

    def __getitem__(self, key):
        try:
            return self.array[key]
        except DECODE_ERRORS as error:
            _check_key(key, self.shape)  # a caller's bad key (a zero step, say) is not damage
            damaged = self._damaged_chunk(key) if self.chunk_files else None
            raise cannot_decode(damaged or self.where, error) from error

    def _damaged_chunk(self, key) -> str | None:
        """The file of the first chunk of ``key``'s window that fails to decode on its own;
        None where ``key`` is not ints and slices, or no chunk fails alone."""
        key = key if isinstance(key, tuple) else (key,)
        if len(key) > self.ndim or not all(isinstance(k, slice | int | np.integer) for k in key):
            return None
        key = (*key, *(slice(None),) * (self.ndim - len(key)))
        sizes = self.array.shards or self.array.chunks  # a shard is one file
        touched = [
            sorted({index // size for index in _as_range(k, length)})
            for k, length, size in zip(key, self.shape, sizes, strict=True)
        ]
        for coords in itertools.product(*touched):
            chunk = zip(coords, sizes, strict=True)
            try:
                self.array[tuple(slice(c * size, (c + 1) * size) for c, size in chunk)]
            except DECODE_ERRORS:
                return f"{self.where}/{self.array.metadata.encode_chunk_key(coords)}"
        return None
