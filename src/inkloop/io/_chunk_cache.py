"""A local cache of a remote zarr's chunks that never holds a partial chunk, bounded on disk;
and what a chunk declares of its length (`ChunkLayouts`), by which the cache keeps, and
`RemoteStore` lets through, no chunk cut off or replaced by a web page.
As the decoded layers' (`inkloop.io._cache`): the chunks read longest ago are deleted beyond
`CHUNK_CACHE_BYTES` (all segments' chunks together) or to keep `FREE_SPACE_KEPT` free on its
disk; past that, none is written. Counting a cache of 32 GB means listing ~100k files, so
each process counts once and then adds what it writes, counting again only when that passes
a limit, and then deletes down to a quarter below it."""

from __future__ import annotations

import contextlib
import contextvars
import json
import math
import os
import shutil
import threading
import time
from pathlib import Path

import aiohttp
import numpy as np
from multidict import CIMultiDict, CIMultiDictProxy
from yarl import URL
from zarr.storage import WrapperStore

from inkloop._notify import notify_once
from inkloop.io._cache import FREE_SPACE_KEPT
from inkloop.io._claims import delete_unclaimed
from inkloop.io._write import LEFT_PART_S, atomic_path

CHUNK_CACHE_BYTES = 32 << 30  # the chunks read longest ago are deleted beyond this
_HELD: dict[Path, int] = {}  # bytes of chunks under each cache, as this process counts
_TOLD: set[Path] = set()  # caches said to be out of room
_LOCK = threading.Lock()
#: the files of a zarr's metadata (v3, v2, v2 consolidated): never kept in a chunk cache
METADATA_KEYS = ("zarr.json", ".zarray", ".zgroup", ".zattrs", ".zmetadata")
#: the keys a chunk cache handed over or kept within a `RemoteStore.read_healing` call
CACHED_KEYS = contextvars.ContextVar("inkloop_cached_keys", default=None)
_COMPRESSORS = {"blosc": "blosc", "zstd": "zstd"}  # a codec whose chunks declare a length
_COMPRESSORS.update({f"numcodecs.{name}": name for name in _COMPRESSORS})  # zarr 3's names
_ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"
_DECLARED_IN = {"raw": "array's metadata", "blosc": "Blosc header", "zstd": "zstd frame"}


class ChunkCache(WrapperStore):
    """A zarr store that keeps the chunks it reads in a local folder. fsspec's own caches
    write a download straight into its cache file, so a dropped connection can leave a
    truncated chunk there that later reads take as good; this one renames a chunk into
    place only once all of it has arrived, and keeps none that ``layouts`` (a
    `ChunkLayouts`: a `RemoteStore` above shares its own) refuses: a web page, or a chunk
    shorter than it declares. Metadata is always asked of the server.
    ``folder`` is `local_folder(url, cache) / "chunks"`: ``budget`` (default
    `CHUNK_CACHE_BYTES`) bounds the chunks of every URL in ``cache``."""

    def __init__(self, store, folder: Path, budget: int | None = None) -> None:
        super().__init__(store)
        self.folder = Path(folder)
        self.root = self.folder.parents[2]  # the cache: <cache>/<host>/<name>-<digest>/chunks
        self.budget = CHUNK_CACHE_BYTES if budget is None else budget
        self.layouts = ChunkLayouts()

    def _with_store(self, store):
        copy = type(self)(store, self.folder, self.budget)
        copy.layouts = self.layouts
        return copy

    async def get(self, key, prototype, byte_range=None):
        if byte_range is not None or key.rsplit("/", 1)[-1] in METADATA_KEYS:
            return await self._store.get(key, prototype, byte_range)
        path = self.folder / key
        kept = self._kept(key, path)
        if kept is not None:
            return prototype.buffer.from_bytes(kept)
        value = await self._store.get(key, prototype)
        if value is not None and self.layouts.refusal(key, data := value.to_bytes()) is None:
            self._keep(path, data)
            _passed_by(key)
        return value

    def forget(self, keys) -> None:
        """Delete the kept copies of chunks ``keys`` (what a read that failed took from here)."""
        for key in keys:
            delete_unclaimed(self.folder / key)  # False where it is gone or cannot go: kept

    def _kept(self, key: str, path: Path) -> bytes | None:
        try:
            kept = path.read_bytes()
        except FileNotFoundError:  # not kept, or deleted to make room
            return None
        if self.layouts.refusal(key, kept) is not None:  # kept before chunks were checked
            self.forget([key])
            return None
        with contextlib.suppress(OSError):  # a cache shared read-only: only its order
            os.utime(path)  # read now: deleted last
        _passed_by(key)
        return kept

    def _keep(self, path: Path, data: bytes) -> None:
        try:  # never fails the read it serves: a quota, a full or read-only disk are said once
            path.parent.mkdir(parents=True, exist_ok=True)
            if _make_room(self.root, len(data), self.budget):
                with atomic_path(path) as tmp:
                    Path(tmp).write_bytes(data)
        except OSError as error:
            notify_once(_TOLD, self.root, f"{self.root}: chunks read are not kept there ({error})")


def _passed_by(key: str) -> None:
    """Note that chunk ``key`` was handed over from, or kept in, a chunk cache."""
    cached = CACHED_KEYS.get()
    if cached is not None:
        cached.append(key)


def _make_room(root: Path, needed: int, budget: int) -> bool:
    """Whether ``needed`` bytes more may be kept in the cache ``root``, after deleting the
    chunks read longest ago where it would pass ``budget`` or the disk keep less than
    `FREE_SPACE_KEPT` free (said once where that is not enough)."""
    with _LOCK:
        held = _HELD.get(root)
        if held is None:
            held = sum(size for _, size, _ in _chunks_in(root))
        free = shutil.disk_usage(root).free
        if held + needed > budget or free - needed < FREE_SPACE_KEPT:
            held, free = _delete_oldest(root, needed, budget)
        room = free - needed >= FREE_SPACE_KEPT and held + needed <= budget
        _HELD[root] = held + needed if room else held
    if not room:
        notify_once(
            _TOLD,
            root,
            f"{root}: chunks read are no longer kept there: it holds {held >> 20} MB of chunks "
            f"other processes read, and the disk {free >> 20} MB free (less than "
            f"{FREE_SPACE_KEPT >> 30} GB would be left)",
        )
    return room


def _delete_oldest(root: Path, needed: int, budget: int) -> tuple[int, int]:
    """Delete chunks, read longest ago first, until the cache holds a quarter of ``budget``
    less than that and the disk keeps as much more than `FREE_SPACE_KEPT` (so that the next
    count waits for that many bytes); (bytes held, bytes free) after."""
    chunks = sorted(_chunks_in(root))
    held, free = sum(size for _, size, _ in chunks), shutil.disk_usage(root).free
    slack = budget // 4
    for _, size, path in chunks:
        if held + needed <= budget - slack and free - needed >= FREE_SPACE_KEPT + slack:
            break
        if delete_unclaimed(path):
            held, free = held - size, free + size
    return held, shutil.disk_usage(root).free


def _chunks_in(root: Path):
    """(use time, size, path) of the chunks in every segment's chunks folder under ``root``
    (never another file: a cache folder may hold earlier versions' labels), and of the
    parts (`atomic_path`) that writers which ended left there."""
    left_before = time.time() - LEFT_PART_S
    for chunks in root.glob("*/*/chunks"):
        for folder, _, names in os.walk(chunks):
            for name in names:
                try:
                    stat = os.stat(os.path.join(folder, name))
                except FileNotFoundError:  # deleted by another process meanwhile
                    continue
                if name.endswith(".tmp") and stat.st_mtime > left_before:
                    continue  # being written
                yield stat.st_mtime, stat.st_size, Path(folder, name)


class CutOffChunk(aiohttp.ClientPayloadError):
    """A chunk shorter than it declares: a connection closed early where the server sent no
    Content-Length (aiohttp cannot tell), which some codecs (Blosc) decode into garbage."""


class WebPageAnswer(aiohttp.ClientResponseError):
    """A web page (HTML) where a chunk was asked for, as a network that wants a login first
    (a hotel's or conference's Wi-Fi) answers every request."""

    def __init__(self, url: str, key: str) -> None:
        self.key = key
        info = aiohttp.RequestInfo(URL(url), "GET", CIMultiDictProxy(CIMultiDict()), URL(url))
        message = (
            f"with a web page (HTML), not chunk {key}: a network that asks for a login (hotel "
            "or conference Wi-Fi) answers so until you log in there"
        )
        super().__init__(info, (), status=200, message=message)


class ChunkLayouts:
    """What the chunks of a zarr's arrays declare of their length, learnt from its metadata
    as that is read, where that is cheap and certain: an uncompressed chunk's size, a Blosc
    header's, a zstd frame's blocks. ``url``: the zarr's, for messages."""

    def __init__(self, url: str = "") -> None:
        self.url = url
        self._layouts: dict[str, tuple[str, int]] = {}  # array folder -> (kind, raw size)

    def learn(self, key: str, text: bytes) -> None:
        """Note the layouts the metadata file ``key`` (its bytes ``text``) names."""
        folder, _, name = key.rpartition("/")
        try:
            metadata = json.loads(text)
            if name == ".zmetadata":  # v2 consolidated: {"metadata": {"0/.zarray": {...}}}
                entries = {k.rpartition("/"): m for k, m in metadata["metadata"].items()}
                arrays = {k[0]: (_v2_layout, m) for k, m in entries.items() if k[2] == ".zarray"}
            elif name == ".zarray":
                arrays = {"": (_v2_layout, metadata)}
            elif name == "zarr.json":  # an array's, or a group's with its consolidated metadata
                inner = (metadata.get("consolidated_metadata") or {}).get("metadata") or {}
                arrays = {k: (_v3_layout, m) for k, m in {"": metadata, **inner}.items()}
                arrays = {k: v for k, v in arrays.items() if v[1].get("node_type") == "array"}
            else:
                return
        except (ValueError, TypeError, KeyError, AttributeError):
            return  # not metadata zarr can read either: it says so, and nothing is checked
        for inner, (layout, entry) in arrays.items():
            try:
                found = layout(entry)
            except (ValueError, TypeError, KeyError, AttributeError):
                found = None  # a data type or codec not judged here
            self._layouts["/".join(part for part in (folder, inner) if part)] = found

    def refusal(self, key: str, data) -> aiohttp.ClientError | None:
        """Why ``data`` (bytes or uint8 array) cannot be chunk ``key``: a web page (HTML), or
        shorter than it declares (a `CutOffChunk`); None where it may be."""
        layout = self._layout(key)
        declared = None if layout is None else _declared_length(layout, data)
        if declared != len(data) and _is_web_page(data):
            return WebPageAnswer(f"{self.url}/{key}", key)
        if declared is not None and len(data) < declared:
            said = f"{len(data)} of the {declared} bytes its {_DECLARED_IN[layout[0]]} declares"
            return CutOffChunk(f"chunk {key} is {said}")
        return None

    def _layout(self, key: str) -> tuple[str, int] | None:
        folders = [f for f in self._layouts if not f or key.startswith(f"{f}/")]
        return self._layouts[max(folders, key=len)] if folders else None


def _v2_layout(metadata: dict) -> tuple[str, int] | None:
    if metadata.get("filters"):
        return None
    compressor = metadata.get("compressor")
    if compressor is None:
        return _raw(metadata["dtype"], metadata["chunks"])
    kind = _COMPRESSORS.get(compressor.get("id"))
    return (kind, 0) if kind else None


def _v3_layout(metadata: dict) -> tuple[str, int] | None:
    names = [c if isinstance(c, str) else c["name"] for c in metadata.get("codecs", ())]
    if names and names[-1] in _COMPRESSORS:
        return _COMPRESSORS[names[-1]], 0
    if names[-1:] == ["bytes"] and set(names[:-1]) <= {"transpose"}:
        shape = metadata["chunk_grid"]["configuration"]["chunk_shape"]
        return _raw(metadata["data_type"], shape)
    return None  # sharded, checksummed, or another codec: its own checks tell


def _raw(dtype, shape) -> tuple[str, int] | None:
    dtype = np.dtype(dtype) if isinstance(dtype, str) else np.dtype(object)
    return None if dtype.hasobject else ("raw", math.prod(shape) * dtype.itemsize)


def _declared_length(layout: tuple[str, int], data) -> int | None:
    kind, size = layout
    if kind == "raw":
        return size
    if kind == "blosc":  # its header's bytes 12-15: cbytes, the length of the whole chunk
        return int.from_bytes(bytes(data[12:16]), "little") if len(data) >= 16 else 16
    return _zstd_length(data)


def _zstd_length(data) -> int | None:
    """Where the zstd frame ``data`` starts with ends, by its headers; None if it starts none."""
    if len(data) < 5:  # nothing, or part of the magic number, arrived: cut off
        return 5 if _ZSTD_MAGIC.startswith(bytes(data)) else None
    if bytes(data[:4]) != _ZSTD_MAGIC:
        return None
    flags = int(data[4])  # FCS size, single segment, checksum and dictionary ID flags
    single, checksum = flags >> 5 & 1, flags >> 2 & 1
    end = 5 + (1 - single) + (0, 1, 2, 4)[flags & 3] + (single, 2, 4, 8)[flags >> 6]
    last = False
    while not last:
        if end + 3 > len(data):
            return end + 3
        header = int.from_bytes(bytes(data[end : end + 3]), "little")
        last, kind, size = header & 1, header >> 1 & 3, header >> 3
        if kind == 3:
            return None  # reserved: not a frame zstd writes, it says so itself
        end += 3 + (1 if kind == 1 else size)  # an RLE block holds one byte
    return end + 4 * checksum


def _is_web_page(data) -> bool:
    start = bytes(data[:64]).lstrip().lower()
    return start.startswith((b"<!doctype html", b"<html", b"<head"))
