"""Decoded pixels of compressed layer images, so that each is decoded once.

Training reads hundreds of small patches a minute. An uncompressed TIFF serves each one with a
few preads (and the OS page cache), but a compressed one decodes whole strips or tiles for
every read, and a PNG or JPEG layer decodes the whole image: measured on a zlib-compressed
Scroll 1 crop, a batch of 16 patches cost 1 s of decoding against a 1.5 s training step.

A compressed TIFF's decoded blocks are kept in memory (least recently used first out,
`DecodedBlocks`). A PNG or JPEG decodes only whole, and a training window of 16 such layers is
1.8 GB decoded (8k x 14k) to 9.6 GB (20k x 30k): more than memory should keep, and a cache
smaller than the window the sampler cycles through misses every time (each batch decoded the
window again, ~200x slower than TIFF). So such a layer is decoded once into an uncompressed
file in `decoded_folder()` and read from there as an uncompressed TIFF is (`DecodedLayer`),
the OS page cache keeping what is read, for every process and later run alike. A copy is
named by its file's path, size and modification time, so a changed file is decoded again.
Copies no process reads are deleted, least recently used first, beyond `DECODED_FILES_BYTES`
or to keep `FREE_SPACE_KEPT` free on the disk; past that, none is written.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import shutil
import threading
import time
import weakref
from collections import OrderedDict
from pathlib import Path

import numpy as np

from inkloop._notify import notify
from inkloop.io._claims import claims_are_locks, delete_unclaimed, open_claimed
from inkloop.io._errors import SegmentError
from inkloop.io._homes import cache_home
from inkloop.io._images import ImageInfo, read_image
from inkloop.io._raw import RawArray
from inkloop.io._write import LEFT_PART_S, new_part

# decoded pixels kept per segment: the z-window of a few thousand pixels squared
DECODED_CACHE_BYTES = 1 << 30
BLOCK_ROWS, BLOCK_COLS = 512, 2048  # the unit kept; aligned to the file's own chunks
DECODED_FOLDER_ENV = "INKLOOP_DECODED_LAYERS"  # where decoded PNG/JPEG layers go (a folder)
DECODED_FILES_BYTES = 32 << 30  # decoded layers no process reads are deleted beyond this
FREE_SPACE_KEPT = 4 << 30  # no decoded layer is written that would leave less free on its disk
_COPY_NAME = re.compile(r"\.?[0-9a-f]{40}\.raw(\.\w+\.tmp)?")  # a copy, or its part (new_part)


class DecodedBlocks:
    """An LRU of decoded blocks ``(layer, block row, block column) -> array``, thread-safe."""

    def __init__(self, budget: int = DECODED_CACHE_BYTES) -> None:
        self.budget = budget
        self.used = 0
        self._blocks: OrderedDict[tuple, np.ndarray] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: tuple, decode, *args) -> np.ndarray:
        """The block at ``key``, made by ``decode(*args)`` when it is not kept."""
        with self._lock:
            block = self._blocks.get(key)
            if block is not None:
                self._blocks.move_to_end(key)
                return block
        block = decode(*args)  # outside the lock: readers of other blocks go on meanwhile
        with self._lock:
            if key not in self._blocks:
                self._blocks[key] = block
                self.used += block.nbytes
            while self.used > self.budget and len(self._blocks) > 1:
                _, dropped = self._blocks.popitem(last=False)
                self.used -= dropped.nbytes
        return block


class CachedLayer:
    """A 2D array-like over ``reader`` (one layer) that decodes each block once."""

    def __init__(self, reader, layer: int, cache: DecodedBlocks) -> None:
        self.reader, self.layer, self.cache = reader, layer, cache
        self.shape, self.dtype, self.ndim = tuple(reader.shape), reader.dtype, 2
        self.block = _block_shape(reader)

    def __getitem__(self, key) -> np.ndarray:
        rows, cols = key if isinstance(key, tuple) else (key, slice(None))
        if not (_unit_slice(rows) and _unit_slice(cols)):
            return np.asarray(self.reader[key])  # pixels, rows or strides: not worth keeping
        (y0, y1, _), (x0, x1, _) = rows.indices(self.shape[0]), cols.indices(self.shape[1])
        out = np.empty((max(y1 - y0, 0), max(x1 - x0, 0)), self.dtype)
        height, width = self.block
        for by in range(y0 // height, -(-y1 // height)):
            for bx in range(x0 // width, -(-x1 // width)):
                block = self.cache.get((self.layer, by, bx), self._decode, by, bx)
                top, left = by * height, bx * width
                a0, a1 = max(y0, top), min(y1, top + block.shape[0])
                b0, b1 = max(x0, left), min(x1, left + block.shape[1])
                out[a0 - y0 : a1 - y0, b0 - x0 : b1 - x0] = block[
                    a0 - top : a1 - top, b0 - left : b1 - left
                ]
        return out

    def _decode(self, by: int, bx: int) -> np.ndarray:
        height, width = self.block
        rows, cols = slice(by * height, (by + 1) * height), slice(bx * width, (bx + 1) * width)
        return np.asarray(self.reader[rows, cols])


def _unit_slice(key) -> bool:
    return isinstance(key, slice) and key.step in (None, 1)


def _block_shape(reader) -> tuple[int, int]:
    """Whole multiples of the file's chunks (strips, tiles) near BLOCK_ROWS x BLOCK_COLS; the
    whole image for formats that decode only whole (no ``chunks``)."""
    chunks = getattr(reader, "chunks", None)
    if chunks is None:
        return tuple(reader.shape)
    return tuple(
        max(1, round(target / chunk)) * chunk
        for target, chunk in zip((BLOCK_ROWS, BLOCK_COLS), chunks, strict=True)
    )


def decoded_folder() -> Path:
    """Where decoded PNG and JPEG layers are kept: ``$INKLOOP_DECODED_LAYERS``, by default
    ``cache_home() / "decoded-layers"``."""
    folder = os.environ.get(DECODED_FOLDER_ENV)
    return Path(folder).expanduser() if folder else cache_home() / "decoded-layers"


class DecodedLayer(RawArray):
    """A PNG or JPEG layer read through its claim on its decoded copy (`decoded_layer`): while
    it lives it holds the copy's shared lock, so no process making room deletes that file."""

    def __init__(self, copy: Path, info: ImageInfo, claim) -> None:
        super().__init__(copy, 0, info.shape, np.dtype(info.dtype).newbyteorder("="))
        self._claim = claim
        weakref.finalize(self, claim.close)  # the lock goes with the reader (not pickled)

    def __getstate__(self) -> dict:
        return {**super().__getstate__(), "_claim": None}

    def _open(self):
        # unpickled (no claim here), or no pread (Windows: dups would share one offset)
        if self._claim is None or not hasattr(os, "preadv"):
            return super()._open()
        return open(os.dup(self._claim.fileno()), "rb", buffering=0)


def decoded_layer(path: Path, info: ImageInfo) -> DecodedLayer | None:
    """The PNG or JPEG layer at ``path`` read from its decoded copy, decoded now unless this
    very file (path, size, modification time) was decoded before; None, said once, where no
    copy can be written (the caller then decodes in memory). Room and a writable folder are
    made sure of before decoding, so a layer without a copy is decoded once, by the caller."""
    copy = decoded_folder() / f"{_copy_name(path, info)}.raw"
    claim = _claim(copy, info)
    if claim is not None:
        return DecodedLayer(copy, info, claim)
    part = None
    try:
        copy.parent.mkdir(mode=0o700, parents=True, exist_ok=True)  # the user's pixels: private
        _make_room(copy.parent, int(np.prod(info.shape)) * np.dtype(info.dtype).itemsize)
        part = Path(new_part(copy))  # fails in a folder not writable, before any decoding
        return DecodedLayer(copy, info, _write_copy(part, copy, _decode(path, info), info))
    except OSError as error:
        return _cannot_keep(copy.parent, error)
    finally:
        if part is not None:
            part.unlink(missing_ok=True)


def _decode(path: Path, info: ImageInfo) -> np.ndarray:
    pixels = read_image(path)
    if pixels.shape != tuple(info.shape):
        raise SegmentError(
            f"{path}: is {pixels.shape[0]}x{pixels.shape[1]} now, but "
            f"{info.shape[0]}x{info.shape[1]} when the segment was opened: open it again"
        )
    return np.asarray(pixels, np.dtype(info.dtype).newbyteorder("="))


def _cannot_keep(folder: Path, error: OSError) -> None:
    notify(
        f"{folder}: cannot keep decoded layers there ({error.strerror or error}): "
        "PNG and JPEG layers are decoded again and again, which makes training slow. "
        f"Set ${DECODED_FOLDER_ENV} to a folder with room, or convert the layers to TIFF"
    )


def _copy_name(path: Path, info: ImageInfo) -> str:
    """A decoded copy's name: this file's path, size and modification time (a changed file
    is a new name) and the layout it is read as."""
    stat = path.stat()
    source = (path.resolve(), stat.st_size, stat.st_mtime_ns, stat.st_ino, info.shape)
    return hashlib.sha256(f"{source}{np.dtype(info.dtype).str}".encode()).hexdigest()[:40]


def _claim(copy: Path, info: ImageInfo):
    """The decoded ``copy`` opened, with its shared lock held and its use time now (least
    recently used ones are deleted first); None where there is no whole copy."""
    try:
        file = open_claimed(copy)  # waits out a deletion under way
    except OSError:  # none, or an unusable folder: writing one says why
        return None
    expected = int(np.prod(info.shape)) * np.dtype(info.dtype).itemsize
    try:
        same = os.stat(copy).st_ino == os.fstat(file.fileno()).st_ino
    except FileNotFoundError:  # deleted while this process waited for its lock
        same = False
    if not same or os.fstat(file.fileno()).st_size != expected:
        file.close()
        return None
    with contextlib.suppress(OSError):  # another user's copy: only its place in the order
        os.utime(copy)
    return file


def _write_copy(part: Path, copy: Path, pixels: np.ndarray, info: ImageInfo):
    """Write ``pixels`` into ``part`` (claimed meanwhile: no one deletes it), put it in place
    as ``copy`` and claim that, or claim the copy another process put there first. Where
    claims are locks the part's claim is held through the link and becomes the copy's (the
    same file), so no process making room finds the new copy unclaimed."""
    claim = open_claimed(part)
    try:
        pixels.tofile(part)
        if not claims_are_locks():  # Windows deletes no name of an open file
            claim.close()
        theirs = _put_in_place(part, copy, info)
    except BaseException:
        claim.close()
        raise
    if theirs is not None or not claims_are_locks():
        claim.close()
        claim = theirs or _claim(copy, info)
    if claim is None:
        raise OSError(f"{copy}: deleted by another process as soon as it was written")
    return claim


def _put_in_place(part: Path, copy: Path, info: ImageInfo):
    """Link ``part`` in place as ``copy`` and remove the part, or rename it over ``copy``
    where there are no hard links; the claim of the copy another process put there first.
    (A rename over theirs left each process a copy of its own, unseen, taking room.)"""
    for _ in range(3):
        try:
            os.link(part, copy)
        except FileExistsError:
            theirs = _claim(copy, info)  # None if deleted meanwhile, or not a whole copy
            if theirs is not None:
                return theirs
            continue
        except OSError:  # a file system without hard links (FAT, some network shares)
            break
        part.unlink()
        return None
    os.replace(part, copy)  # readers read what they claimed: none loses its copy
    return None


def _make_room(folder: Path, needed: int) -> None:
    """Delete the least recently used copies no process reads while the folder would hold
    over `DECODED_FILES_BYTES` or the disk keep less than `FREE_SPACE_KEPT` free, and parts
    left by ended writers; OSError, saying what was tried, if the disk still would."""
    copies = []
    for entry in os.scandir(folder):
        if _COPY_NAME.fullmatch(entry.name):  # never another file in a folder the user named
            with contextlib.suppress(FileNotFoundError):  # deleted by another process
                stat = entry.stat()
                copies.append((stat.st_mtime, entry.name, stat.st_size))
    held, deleted = sum(size for _, _, size in copies), 0
    free = shutil.disk_usage(folder).free
    for used, name, size in sorted(copies):
        if name.endswith(".tmp"):  # a copy being written, or a part its ended writer left
            unused = used < time.time() - LEFT_PART_S
        else:
            unused = held + needed > DECODED_FILES_BYTES or free - needed < FREE_SPACE_KEPT
        if unused and delete_unclaimed(folder / name):
            held, deleted = held - size, deleted + size
            free = shutil.disk_usage(folder).free
    if free - needed < FREE_SPACE_KEPT:
        raise OSError(
            f"{needed >> 20} MB more would leave less than {FREE_SPACE_KEPT >> 30} GB free, "
            f"after deleting {deleted >> 20} MB of decoded layers no process reads; the "
            f"{held >> 20} MB left there are in use"
        )
