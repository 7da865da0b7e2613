"""A local cache of a remote zarr's chunks that never holds a partial chunk, bounded on disk.

As the decoded layers' (`inkloop.io._cache`): the chunks read longest ago are deleted beyond
`CHUNK_CACHE_BYTES` (all segments' chunks in the cache together) or to keep `FREE_SPACE_KEPT`
free on its disk; past that, none is written. Counting a cache of 32 GB means listing
~100k files, so each process counts once and then adds what it writes, counting again only
when that passes a limit, and then deletes down to a quarter below it.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import threading
import time
from pathlib import Path

from zarr.storage import WrapperStore

from inkloop._notify import notify
from inkloop.io._cache import FREE_SPACE_KEPT
from inkloop.io._claims import delete_unclaimed
from inkloop.io._remote_store import METADATA_KEYS
from inkloop.io._write import LEFT_PART_S, atomic_path

CHUNK_CACHE_BYTES = 32 << 30  # the chunks read longest ago are deleted beyond this
_HELD: dict[Path, int] = {}  # bytes of chunks under each cache, as this process counts
_TOLD: set[Path] = set()  # caches said to be out of room
_LOCK = threading.Lock()


class ChunkCache(WrapperStore):
    """A zarr store that keeps the chunks it reads in a local folder. fsspec's own caches
    write a download straight into its cache file, so a dropped connection can leave a
    truncated chunk there that later reads take as good; this one renames a chunk into
    place only once all of it has arrived. Metadata is always asked of the server.
    ``folder`` is `local_folder(url, cache) / "chunks"`: ``budget`` (default
    `CHUNK_CACHE_BYTES`) bounds the chunks of every URL in ``cache``."""

    def __init__(self, store, folder: Path, budget: int | None = None) -> None:
        super().__init__(store)
        self.folder = Path(folder)
        self.root = self.folder.parents[2]  # the cache: <cache>/<host>/<name>-<digest>/chunks
        self.budget = CHUNK_CACHE_BYTES if budget is None else budget

    def _with_store(self, store):
        return type(self)(store, self.folder, self.budget)

    async def get(self, key, prototype, byte_range=None):
        if byte_range is not None or key.rsplit("/", 1)[-1] in METADATA_KEYS:
            return await self._store.get(key, prototype, byte_range)
        path = self.folder / key
        try:
            kept = path.read_bytes()
        except FileNotFoundError:  # not kept, or deleted to make room
            pass
        else:
            with contextlib.suppress(OSError):  # a cache shared read-only: only its order
                os.utime(path)  # read now: deleted last
            return prototype.buffer.from_bytes(kept)
        value = await self._store.get(key, prototype)
        if value is not None:
            self._keep(path, value.to_bytes())
        return value

    def _keep(self, path: Path, data: bytes) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        if _make_room(self.root, len(data), self.budget):
            with atomic_path(path) as tmp:
                Path(tmp).write_bytes(data)


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
    if not room and root not in _TOLD:
        _TOLD.add(root)
        notify(
            f"{root}: chunks read are no longer kept there: it holds {held >> 20} MB of "
            f"chunks other processes read, and the disk {free >> 20} MB free (less than "
            f"{FREE_SPACE_KEPT >> 30} GB would be left)"
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
