"""A local cache of a remote zarr's chunks that never holds a partial chunk, nor a chunk kept
for other metadata, bounded on disk. Which chunks it may keep, and under which version of
their array's metadata, `ChunkLayouts` (`inkloop.io._chunk_layouts`) tells.
As the decoded layers' (`inkloop.io._cache`): the chunks read longest ago are deleted beyond
`CHUNK_CACHE_BYTES` (all segments' chunks together) or to keep `FREE_SPACE_KEPT` free on its
disk; past that, none is written. Counting a cache of 32 GB means listing ~100k files, so
each process counts once and then adds what it writes, counting again only when that passes
a limit, and then deletes down to a quarter below it."""

from __future__ import annotations

import contextlib
import contextvars
import os
import shutil
import threading
import time
from pathlib import Path

from zarr.storage import WrapperStore

from inkloop._notify import notify, notify_once
from inkloop.io._cache import FREE_SPACE_KEPT
from inkloop.io._chunk_layouts import ChunkLayouts
from inkloop.io._claims import delete_unclaimed
from inkloop.io._write import LEFT_PART_S, atomic_path

CHUNK_CACHE_BYTES = 32 << 30  # the chunks read longest ago are deleted beyond this
_HELD: dict[Path, int] = {}  # bytes of chunks under each cache, as this process counts
_TOLD: set[Path] = set()  # caches said to be out of room
_VERSIONS_SEEN: set[Path] = set()  # version folders this process looked beside
_LOCK = threading.Lock()
#: the files of a zarr's metadata (v3, v2, v2 consolidated): never kept in a chunk cache
METADATA_KEYS = ("zarr.json", ".zarray", ".zgroup", ".zattrs", ".zmetadata")
#: the keys a chunk cache handed over or kept within a `RemoteStore.read_healing` call
CACHED_KEYS = contextvars.ContextVar("inkloop_cached_keys", default=None)


class ChunkCache(WrapperStore):
    """A zarr store that keeps the chunks it reads in a local folder. fsspec's own caches
    write a download straight into its cache file, so a dropped connection can leave a
    truncated chunk there that later reads take as good; this one renames a chunk into
    place only once all of it has arrived, and keeps none that ``layouts`` (a
    `ChunkLayouts`: a `RemoteStore` above shares its own) refuses: a web page, or a chunk
    shorter than it declares. Metadata is always asked of the server, and each array's
    chunks are kept under the version of its metadata read at this open (`kept_path`).
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
        path = None if byte_range is not None else self.kept_path(key)
        if path is None:
            return await self._store.get(key, prototype, byte_range)
        kept = self._kept(key, path)
        if kept is not None:
            return prototype.buffer.from_bytes(kept)
        value = await self._store.get(key, prototype)
        if value is not None and self.layouts.refusal(key, data := value.to_bytes()) is None:
            self._keep(path, data)
            _passed_by(key)
        return value

    def kept_path(self, key: str) -> Path | None:
        """Where chunk ``key`` is kept: in its array's folder, in ``@<digest>`` of what in
        that array's metadata read at this open decides its chunks (`ChunkLayouts.version`),
        so that an array re-rendered on the server (another shape, chunking, data type,
        codecs or fill value) is read anew. None for metadata, and for a key of an array
        whose metadata was not read: not kept."""
        version = None if key.rsplit("/", 1)[-1] in METADATA_KEYS else self.layouts.version(key)
        if version is None:
            return None
        array, digest = version
        folder = self.folder / array / f"@{digest}"
        if folder not in _VERSIONS_SEEN:
            _VERSIONS_SEEN.add(folder)
            self._tell_if_replaced(folder, array)
        return folder / (key.removeprefix(f"{array}/") if array else key)

    def _tell_if_replaced(self, folder: Path, array: str) -> None:
        """Say where chunks of ``array`` kept for other metadata lie beside a version
        ``folder`` not made yet: the array changed on the server since. The folder is made,
        so that a later open here, or another process, does not say it again."""
        try:
            earlier = [entry for entry in folder.parent.iterdir() if entry.name[:1] == "@"]
        except FileNotFoundError:  # nothing of this array kept
            return
        if folder.is_dir() or not earlier:
            return
        with contextlib.suppress(OSError):  # not writable: `_keep` says so
            folder.mkdir()
        notify(
            f"{self.layouts.url}: {f'array {array}' if array else 'its array'} changed on the "
            f"server since its chunks were kept in {self.root} (its shape, chunks, data type, "
            "codecs or fill value differ): its chunks are read from the server again, and "
            "those kept before are no longer read and go as the cache needs room"
        )

    def forget(self, keys) -> None:
        """Delete the kept copies of chunks ``keys`` (what a read that failed took from here)."""
        for key in keys:
            if (path := self.kept_path(key)) is not None:
                delete_unclaimed(path)  # False where it is gone or cannot go: kept

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
                _write_chunk(path, data)
        except OSError as error:
            notify_once(_TOLD, self.root, f"{self.root}: chunks read are not kept there ({error})")


def _write_chunk(path: Path, data: bytes) -> None:
    """Write chunk ``path``, made whole before it is renamed into place; once more where
    another process's `_delete_oldest` removed its folder, emptied, as it was being made."""
    for last in (False, True):
        try:
            # not synced to the disk: a chunk a power cut damaged is read again from the
            # server (`RemoteStore.read_healing`), and a sync per chunk would slow every read
            with atomic_path(path, durable=False) as part:
                Path(part).write_bytes(data)
            return
        except FileNotFoundError:
            if last:
                raise


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
            _remove_emptied(path.parent)
    return held, shutil.disk_usage(root).free


def _remove_emptied(folder: Path) -> None:
    """Remove ``folder`` and those above it that deleting a chunk left empty, up to a
    ``chunks`` folder: the chunks an array kept for metadata it no longer has go whole."""
    while folder.name != "chunks":
        try:
            folder.rmdir()
        except OSError:  # not empty (the usual case), or gone already
            return
        folder = folder.parent


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
