"""The store of a remote zarr, between zarr and the server's (fsspec's) store: it bounds each
answer's bytes (`inkloop.io._remote_bounds`), refuses a chunk cut off or replaced by a web
page, and a byte range answered with another length, tries a read the server failed for a
moment again, tells of the chunks the server lacks, and knows the reads it has running."""

from __future__ import annotations

import asyncio
import contextvars
import math
import os
import time

import aiohttp
from multidict import CIMultiDict, CIMultiDictProxy
from yarl import URL
from zarr.abc.store import RangeByteRequest, SuffixByteRequest
from zarr.storage import WrapperStore

from inkloop._notify import notify_once
from inkloop.io._chunk_cache import CACHED_KEYS, METADATA_KEYS
from inkloop.io._chunk_layouts import ChunkLayouts, CutOffChunk
from inkloop.io._remote_bounds import ANSWER_BOUND, ChunkBounds
from inkloop.io._remote_common import READER, describe_failure, without_login

RETRY_PAUSES_S = (0.5, 1.0, 2.0)  # before each new try of a read the server failed for a moment
VIEW_RETRY_PAUSES_S = (0.2,)  # the same for a read napari's view waits for (never a timeout's)
_TRIED_AGAIN = f"reads that fail so are tried again, {len(RETRY_PAUSES_S)} times at most"
VIEW_HOLD_S = 2.0  # after a view read timed out, how long the view's next reads fail at once
SETTLE_GRACE_S = 2.0  # how long the other reads of a failed read may go on, at most
_TASKS: dict[object, set] = {}  # a `READER` -> its tasks on zarr's loop not done yet
_TIMEOUTS = (TimeoutError, asyncio.TimeoutError)  # one class from Python 3.11 on
#: the read of napari's view, which waits for it, that this context's reads are part of
#: (a `ViewRead`; None: not the view's)
VIEW_READ = contextvars.ContextVar("inkloop_view_read", default=None)


class RemoteStore(WrapperStore):
    """The store of a remote zarr: reads each answer up to its bound (`ChunkBounds`), refuses
    a chunk `ChunkLayouts` refuses (a chunk cache below it keeps none such) and a byte range
    answered with another length (`_range_refusal`), tries a read again where the server
    failed it for a moment (a 5xx, a connection reset or dropped: `RETRY_PAUSES_S`), warns
    once per array of a chunk missing on the server, and knows the reads it has running.
    zarr reads several keys at once (asyncio.gather) and, when one fails, leaves the others
    running: `settle` lets them end before the error is told, else they end at exit, after
    the loop closed ('Event loop is closed', 'Task was destroyed but it is pending')."""

    def __init__(self, store, url: str, timeout: float, layouts=None, bounds=None) -> None:
        super().__init__(store)
        self.url, self.timeout = url, timeout
        self.layouts = layouts or ChunkLayouts(without_login(url))
        self.bounds = bounds or ChunkBounds()  # the bytes each answer may hold
        if isinstance(getattr(store, "layouts", None), ChunkLayouts):
            store.layouts = self.layouts  # a chunk cache keeps only the chunks these let by
        self._arrays: set[str] = set()  # where array or group metadata was found
        self._told: set = set()  # "retried", "healed" (chunks read again), ("missing", array)
        self._reads: dict[asyncio.Task, tuple] = {}  # -> (its `READER`, the key it reads)
        self._abandoned: set = set()  # `READER`s whose read failed
        self._loop, self._pid = None, os.getpid()

    def _with_store(self, store):
        return type(self)(store, self.url, self.timeout, self.layouts, self.bounds)

    def __getstate__(self) -> dict:  # tasks stay in this process
        return {**self.__dict__, "_reads": {}, "_abandoned": set(), "_loop": None}

    async def get(self, key, prototype, byte_range=None):
        task, reader = asyncio.current_task(), READER.get()
        if reader in self._abandoned:  # zarr's task of a failed read, that waited its turn
            raise asyncio.CancelledError
        if task not in self._reads:
            self._loop, self._pid = asyncio.get_running_loop(), os.getpid()
            _note_tasks_of_readers(self._loop)
            task.add_done_callback(self._reads.pop)
        self._reads[task] = (reader, key)
        view = VIEW_READ.get()  # a view waiting for it: one quick retry, unsaid
        for pause in (*(VIEW_RETRY_PAUSES_S if view else RETRY_PAUSES_S), None):
            try:
                return await self._checked(key, prototype, byte_range)
            except aiohttp.ClientError as error:
                if pause is None or not _may_pass(error):
                    raise
                if not view:
                    self._tell_once("retried", error, _TRIED_AGAIN)
            await asyncio.sleep(pause)

    async def _checked(self, key, prototype, byte_range):
        version = self.layouts.version(key)  # (its array's folder, digest); None: unknown
        token = ANSWER_BOUND.set(self.bounds.of(key, version and version[0]))
        try:
            value = await self._store.get(key, prototype, byte_range)
        finally:
            ANSWER_BOUND.reset(token)
        folder, _, name = key.rpartition("/")
        if name in METADATA_KEYS:
            if value is not None:
                self._arrays.add(folder)
                self.layouts.learn(key, value.to_bytes())
                self.bounds.learn(key, value.to_bytes())
        elif value is None:
            self._warn_missing(key)
        else:
            refusal = (
                self.layouts.refusal(key, value.as_numpy_array())
                if byte_range is None
                else _range_refusal(f"{self.url}/{key}", key, byte_range, len(value))
            )
            if refusal is not None:
                raise refusal
        return value

    def read_healing(self, read):
        """``read()``; where it fails decoding chunks a chunk cache handed over or kept (kept
        damaged by an earlier version, or cut off where nothing could tell), they are deleted
        there and ``read()`` is tried once more, from the server for those."""
        for again in (False, True):
            cached: list[str] = []
            token = CACHED_KEYS.set(cached)
            try:
                return read()
            except Exception as error:
                if not cached or isinstance(error, (aiohttp.ClientError, OSError, _TIMEOUTS)):
                    raise  # the server's failure, or no cache: reading again changes nothing
                self._store.forget(cached)
                if again:
                    raise
                self._tell_once("healed", error, "chunks kept in the chunk cache were read again")
            finally:
                CACHED_KEYS.reset(token)

    @property
    def settle_s(self) -> float:
        """How long `settle` lets the other reads of a failed read go on, at most."""
        return min(self.timeout, SETTLE_GRACE_S)

    def settle(self, reader) -> list[str]:
        """Wait until the reads of ``reader`` (a `guarded` call's `READER`) have ended, their
        errors collected (in the process that started them: in a forked one no thread runs
        their loop); those still running after `settle_s` are cancelled (not a second read
        timeout: they had as long as the failed one), and zarr's tasks still waiting their
        turn start none. The keys of those cancelled; other threads' reads are left alone."""
        if self._loop is None or self._pid != os.getpid() or self._loop.is_closed():
            return []
        return asyncio.run_coroutine_threadsafe(self._ended(reader), self._loop).result()

    async def _ended(self, reader) -> list[str]:
        loop = asyncio.get_running_loop()  # not a forked parent's: those never end here
        reads = {
            read: key
            for read, (by, key) in self._reads.items()
            if by is reader and read.get_loop() is loop
        }
        waiting = _TASKS.get(reader, set()) - set(reads) - {asyncio.current_task()}
        self._abandoned.add(reader)
        try:
            running = set()
            if reads:
                _, running = await asyncio.wait(reads, timeout=self.settle_s)
            for read in running:
                read.cancel()
            await asyncio.gather(*reads, return_exceptions=True)  # the first error was told
            if waiting:  # let through by the reads' end, they end at once
                await asyncio.wait(waiting, timeout=self.settle_s)
            return sorted(reads[read] for read in running)
        finally:
            self._abandoned.discard(reader)

    def _tell_once(self, what: str, error: Exception, done: str) -> None:
        said = f"{without_login(self.url)}: {describe_failure(error, self.url)}; {done}"
        notify_once(self._told, what, said)

    def _warn_missing(self, key: str) -> None:
        # A warning, not an error: zarr writers leave out chunks that hold only the fill
        # value (zarr-python 3 by default), so a segment's blank margins may well be 404s
        array = max((a for a in self._arrays if key.startswith(f"{a}/")), key=len, default="")
        notify_once(
            self._told,
            ("missing", array),
            f"{without_login(self.url)}: chunk {key} is missing on the server (404); it reads "
            "as the fill value (blank), as zarr reads a chunk never written. If the server "
            "lost it, that part of the segment is wrong. Other missing chunks of "
            f"{f'array {array}' if array else 'this array'} are not reported",
        )


class ViewRead:
    """A read for napari's view (`VIEW_READ`): whether the server answered any of its keys
    (not so where the chunk cache held them all)."""

    def __init__(self) -> None:
        self.answered = False


class ViewReads(WrapperStore):
    """The server's store, whose reads for napari's view (`VIEW_READ`) go through a store of
    their own, ``view``: the same URL in an HTTP session with a shorter timeout. Within
    `VIEW_HOLD_S` of one timing out they fail at once: a step of the view reads the server
    twice (the level on screen, then napari's thumbnail), and should wait one timeout."""

    def __init__(self, store, view, timed_out=None) -> None:
        super().__init__(store)
        self.view = view
        self.timed_out = timed_out or [-math.inf]  # when a view read last did (copies share it)

    def _with_store(self, store):
        return type(self)(store, self.view, self.timed_out)

    async def get(self, key, prototype, byte_range=None):
        read = VIEW_READ.get()
        if read is None:
            return await self._store.get(key, prototype, byte_range)
        if time.monotonic() - self.timed_out[0] < VIEW_HOLD_S:
            raise TimeoutError(f"a read for the view timed out under {VIEW_HOLD_S:g} s ago")
        try:
            value = await self.view.get(key, prototype, byte_range)
        except _TIMEOUTS:
            self.timed_out[0] = time.monotonic()
            raise
        read.answered = True
        return value


class RangeIgnored(aiohttp.ClientResponseError):
    """More bytes than a byte range asked for: the whole file, from a server that ignores
    Range requests (python -m http.server does), where a sharded zarr reads its chunks so."""

    def __init__(self, url: str, key: str, got: int, asked: str) -> None:
        info = aiohttp.RequestInfo(URL(url), "GET", CIMultiDictProxy(CIMultiDict()), URL(url))
        message = (
            f"OK with all {got} bytes of {key} where {asked} were asked for: it ignores Range "
            "requests, which sharded zarrs need (serve the zarr with a server that honours "
            "them; python -m http.server does not)"
        )
        super().__init__(info, (), status=200, message=message)


def _range_refusal(url: str, key: str, byte_range, got: int) -> aiohttp.ClientError | None:
    """Why an answer of ``got`` bytes cannot be ``byte_range`` of ``key`` (at ``url``): longer
    than asked (`RangeIgnored`), or shorter than a range within the file (a `CutOffChunk`);
    None where it may be. A range from an offset to the end has no length known: let by."""
    if isinstance(byte_range, RangeByteRequest):
        length = byte_range.end - byte_range.start
        asked = f"bytes {byte_range.start}-{byte_range.end - 1}"
    elif isinstance(byte_range, SuffixByteRequest):  # a shorter file is sent whole: let by
        length, asked = byte_range.suffix, f"its last {byte_range.suffix} bytes"
    else:
        return None
    if got > length:
        return RangeIgnored(url, key, got, asked)
    if got < length and isinstance(byte_range, RangeByteRequest):
        return CutOffChunk(f"{key} is {got} of the {length} bytes asked for ({asked})")
    return None


def _may_pass(error: aiohttp.ClientError) -> bool:
    """Whether a read that failed so may well succeed if tried again soon: a 5xx, a connection
    reset or dropped mid-answer, a chunk cut off; not a timeout (the user has waited long
    enough), a 4xx, a web page, or a connection never made (a wrong host or port)."""
    if isinstance(error, (*_TIMEOUTS, aiohttp.ClientConnectorError)):
        return False
    if isinstance(error, aiohttp.ClientResponseError):
        return error.status >= 500
    return isinstance(error, (aiohttp.ClientPayloadError, aiohttp.ClientConnectionError))


def _note_tasks_of_readers(loop) -> None:
    """Have ``loop`` note in `_TASKS` the tasks each `READER` starts: zarr's tasks of a read
    that wait their turn (its concurrency limit) have called no `get` yet."""
    previous = loop.get_task_factory()
    if getattr(previous, "notes_readers", False):
        return

    def factory(loop, coro, **options):
        if previous is None:
            task = asyncio.Task(coro, loop=loop, **options)
        else:
            task = previous(loop, coro, **options)
        context = options.get("context")
        reader = READER.get() if context is None else context.get(READER)
        if reader is not None:
            _TASKS.setdefault(reader, set()).add(task)
            task.add_done_callback(lambda done: _task_done(reader, done))
        return task

    factory.notes_readers = True
    loop.set_task_factory(factory)


def _task_done(reader, task) -> None:
    tasks = _TASKS.get(reader, set())
    tasks.discard(task)
    if not tasks:
        _TASKS.pop(reader, None)
