"""The store of a remote zarr, between zarr and the server's (fsspec's) store: it tells of
the chunks the server lacks, and knows the reads it has running."""

from __future__ import annotations

import asyncio
import os

from zarr.storage import WrapperStore

from inkloop._notify import notify
from inkloop.io._remote_common import READER, without_login

#: the files of a zarr's metadata (v3, v2, v2 consolidated): never kept in a chunk cache
METADATA_KEYS = ("zarr.json", ".zarray", ".zgroup", ".zattrs", ".zmetadata")


class RemoteStore(WrapperStore):
    """The store of a remote zarr: warns once per array of a chunk missing on the server, and
    knows the reads it has running. zarr reads several keys at once (asyncio.gather) and,
    when one fails, leaves the others running: `settle` lets them end before the error is
    told, else they end at exit, after the loop closed ('Event loop is closed'). ``timeout``
    bounds that wait: a server trickling a byte now and then never trips a read's timeout."""

    def __init__(self, store, url: str, timeout: float) -> None:
        super().__init__(store)
        self.url, self.timeout = url, timeout
        self._arrays: set[str] = set()  # where array or group metadata was found
        self._warned: set[str] = set()
        self._reads: dict[asyncio.Task, tuple] = {}  # -> (its `READER`, the key it reads)
        self._loop, self._pid = None, os.getpid()

    def _with_store(self, store):
        return type(self)(store, self.url, self.timeout)

    def __getstate__(self) -> dict:
        return {**self.__dict__, "_reads": {}, "_loop": None}  # tasks stay in this process

    async def get(self, key, prototype, byte_range=None):
        task = asyncio.current_task()
        if task not in self._reads:
            self._loop, self._pid = asyncio.get_running_loop(), os.getpid()
            task.add_done_callback(self._reads.pop)
        self._reads[task] = (READER.get(), key)
        value = await self._store.get(key, prototype, byte_range)
        folder, _, name = key.rpartition("/")
        if name in METADATA_KEYS:
            if value is not None:
                self._arrays.add(folder)
        elif value is None:
            self._warn_missing(key)
        return value

    def settle(self, reader) -> list[str]:
        """Wait until the reads of ``reader`` (a `guarded` call's `READER`) have ended, their
        errors collected (in the process that started them: in a forked one no thread runs
        their loop); those still running after ``timeout`` seconds are cancelled. The keys of
        those cancelled; other threads' reads are left alone."""
        if not self._reads or self._pid != os.getpid():
            return []
        return asyncio.run_coroutine_threadsafe(self._ended(reader), self._loop).result()

    async def _ended(self, reader) -> list[str]:
        loop = asyncio.get_running_loop()  # not a forked parent's: those never end here
        reads = {
            read: key
            for read, (by, key) in self._reads.items()
            if by is reader and read.get_loop() is loop
        }
        if not reads:
            return []
        _, running = await asyncio.wait(reads, timeout=self.timeout)
        for read in running:
            read.cancel()
        await asyncio.gather(*reads, return_exceptions=True)  # the first error was told
        return sorted(reads[read] for read in running)

    def _warn_missing(self, key: str) -> None:
        # A warning, not an error: zarr writers leave out chunks that hold only the fill
        # value (zarr-python 3 by default), so a segment's blank margins may well be 404s
        array = max((a for a in self._arrays if key.startswith(f"{a}/")), key=len, default="")
        if array not in self._warned:
            self._warned.add(array)
            notify(
                f"{without_login(self.url)}: chunk {key} is missing on the server (404); it "
                "reads as the fill value (blank), as zarr reads a chunk never written. If "
                "the server lost it, that part of the segment is wrong. Other missing chunks "
                f"of {f'array {array}' if array else 'this array'} are not reported"
            )
