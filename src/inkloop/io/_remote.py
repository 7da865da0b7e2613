"""Segments over HTTP(S): a (OME-)zarr read lazily through fsspec, only the chunks asked for.

The mask and label files beside the zarr are fetched once into a local folder (one for all
spellings of the URL), where the user's labels are then saved (the server is never written
to): `inkloop.io._remote_sides`. Every failure of the server (no answer in time, 404, a
dropped connection, a truncated chunk) becomes one SegmentError naming the URL; a chunk it
lacks reads blank, told once. The zarr's format is found first (`inkloop.io._remote_format`):
a server may answer the other format's metadata with a 403 or a web page. A server that
asks for a login (the data server does) gets it from ~/.netrc, as curl does, or from the
URL, sent apart from it (`inkloop.io._remote_logins`).
"""

from __future__ import annotations

import contextvars
import functools
import os
import re
from pathlib import Path
from urllib.parse import urlsplit

from inkloop._command import shell_quoted
from inkloop._cpus import usable_cpus
from inkloop._notify import notify_once
from inkloop.io import _homes
from inkloop.io._errors import SegmentError
from inkloop.io._homes import (  # noqa: F401  (adopt_earlier_folder: imported from here)
    adopt_earlier_folder,
    local_folder,
)
from inkloop.io._remote_common import READER, describe_failure, without_login
from inkloop.io._remote_logins import session_options

TIMEOUT_S = 30.0  # no byte for this long: the server is taken as gone
# the same for a read napari's view waits for (on its GUI thread, by default), which is not
# tried again either: the view is left blank there instead (`_napari._pyramid`), and the
# view's reads of the next `_remote_store.VIEW_HOLD_S` fail at once
DISPLAY_TIMEOUT_S = 5.0
CHUNK_CACHE_ENV = "INKLOOP_CHUNK_CACHE"  # the chunk cache's folder, or "off" for none
_OFF = ("off", "0", "no", "none")  # what in CHUNK_CACHE_ENV (any case) keeps no chunk
_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.-]+://")  # two letters or more: no Windows drive
# what to open instead of a URL of another scheme (the open data: s3://vesuvius-challenge-open-data)
_INSTEAD = {
    "s3": "a public bucket (as the open data's) serves it at https://{host}.s3.amazonaws.com{path}",
    "gs": "a public bucket serves it at https://storage.googleapis.com/{host}{path}",
    "file": "give its path, {path}",
}
_NO_ZARR = "not found on the server (404): no zarr.json, .zarray or .zgroup there"
_TOLD_NOT_WRITABLE: set[Path] = set()  # default chunk caches said to be unwritable


def is_url(path) -> bool:
    """Whether ``path`` names a segment on an HTTP(S) server."""
    return isinstance(path, str) and path.lower().startswith(("http://", "https://"))


def segment_location(text: str) -> str | Path:
    """A segment named on a command line: a URL stays text (one of another scheme too, which
    opening refuses: as a path its "//" would be lost), anything else is a path."""
    return text if is_url(text) or _SCHEME.match(text) else Path(text)


def refuse_other_schemes(path) -> None:
    """SegmentError if ``path`` is a URL of a scheme other than http(s) (s3://, gs://,
    file://), saying what to open instead where that is known."""
    if is_url(path) or not _SCHEME.match(str(path)):
        return
    parts = urlsplit(str(path))
    scheme = parts.scheme.lower()
    instead = _INSTEAD.get(scheme, "").format(host=parts.netloc, path=parts.path)
    message = f"{path}: only http(s):// URLs are read, not {scheme}://"
    raise SegmentError(f"{message}; {instead}" if instead else message)


def shown_location(path) -> str:
    """A segment's path or URL as messages and files show it: a URL without its login."""
    return without_login(path) if is_url(path) else str(path)


def chunk_cache_folder(cache: str | Path | bool | None = None) -> Path | None:
    """The folder a remote segment's chunks are kept in: ``cache``; if None,
    $INKLOOP_CHUNK_CACHE (read by the CLI, the dock and the engine process alike), else
    `chunk_cache_home`. None where chunks are not kept: ``cache=False``, or "off" (0, no,
    none) there; or the default folder cannot be written (said once)."""
    if cache is None or cache is True or cache == "":
        cache = os.environ.get(CHUNK_CACHE_ENV, "").strip()
        if not cache:
            return _writable_default(_homes.chunk_cache_home())
    if cache is False or (isinstance(cache, str) and cache.lower() in _OFF):
        return None
    return Path(cache).expanduser()


def _writable_default(folder: Path) -> Path | None:
    """``folder``, made, or None if it cannot be written (a read-only home): reads go on
    without a cache the user did not ask for, rather than fail."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
        if os.access(folder, os.W_OK | os.X_OK):
            return folder
        reason = "not writable"
    except OSError as error:
        reason = str(error)
    notify_once(
        _TOLD_NOT_WRITABLE,
        folder,
        f"{folder}: chunks read from servers are not kept ({reason}); set "
        f"${CHUNK_CACHE_ENV} to a folder you can write, or to off",
    )
    return None


def open_zarr_url(url: str, *, cache: str | Path | bool | None = None, timeout: float = TIMEOUT_S):
    """The zarr node (array or group) at ``url``, read through fsspec; the chunks read are
    kept in `chunk_cache_folder` (``cache``; ``False``: none), each array's under the
    version of its metadata read at this open (`ChunkCache.kept_path`)."""
    import zarr

    cache = chunk_cache_folder(cache)

    try:
        from fsspec.implementations.http import HTTPFileSystem  # noqa: F401  (needs aiohttp)
        from zarr.storage import FsspecStore  # noqa: F401  (zarr 3)
    except ImportError as error:
        raise SegmentError(
            f"{without_login(url)}: reading segments over HTTP needs fsspec, aiohttp and zarr 3 "
            "(Python 3.11+): pip install '.[remote]' in inkloop's clone"
        ) from error
    # imported here, not at the top: `import inkloop.io` loads no zarr
    from inkloop.io._chunk_cache import ChunkCache
    from inkloop.io._remote_format import MetadataAnswers, zarr_format
    from inkloop.io._remote_store import RemoteStore, ViewReads

    view = _http_store(url, min(timeout, DISPLAY_TIMEOUT_S))
    store = answered = MetadataAnswers(ViewReads(_http_store(url, timeout), view))
    if cache:
        store = ChunkCache(store, local_folder(url, cache) / "chunks")
    store = RemoteStore(store, without_login(url), timeout)
    try:
        found = guarded(url, lambda: zarr_format(store, answered), store)
        return guarded(url, lambda: zarr.open(store, mode="r", zarr_format=found), store)
    except SegmentError as error:
        _refuse_no_zarr(url, error.__cause__)
        raise


def _refuse_no_zarr(url: str, cause) -> None:
    """Raise what a URL with no zarr's metadata (``cause``, a `NoMetadataError`) says: a 404 for
    every key, what `_not_a_zarr` says; else the first other answer (a 403, a web page)."""
    from inkloop.io._remote_format import NoMetadataError

    if not isinstance(cause, NoMetadataError):
        return
    if cause.why is None:
        raise SegmentError(_not_a_zarr(without_login(url))) from cause
    raise SegmentError(f"{without_login(url)}: {describe_failure(cause.why, url)}") from cause


def _not_a_zarr(url: str) -> str:
    """Why ``url`` (no zarr) opens nothing; for a folder of layer files, as the data server
    also offers segments, how to download it and open it from disk. The download stays in
    the segment's folder (-np: an index links "../", which plain -r follows to every other
    segment) and makes ./<id>/ (-nH --cut-dirs: no folders for the host and the path above)."""
    from inkloop.io._images import IMAGE_SUFFIXES
    from inkloop.io._sources import LAYER_FOLDERS

    parts = urlsplit(url)
    names = [name for name in parts.path.split("/") if name]
    if names and names[-1].lower().endswith(".zarr"):
        return f"{url}: {_NO_ZARR}"
    while names and (
        names[-1] in LAYER_FOLDERS or Path(names[-1]).suffix.lower() in IMAGE_SUFFIXES
    ):
        names.pop()  # a layer folder or file: the segment's folder is above
    folder = parts._replace(path="/" + "".join(f"{name}/" for name in names)).geturl()
    segment, into = (names[-1], f"./{names[-1]}/") if names else ("<id>", "the current folder")
    return (
        f"{url}: {_NO_ZARR}. Over HTTP inkloop reads only (OME-)Zarr: a segment's zarr (on "
        f"dl.ash2txt.org, e.g. .../segments/54keV_7.91um/{segment}.zarr/) opens with no download. "
        f"To open this folder of layer files, download it (into {into}) and open that: "
        f"wget -r -np -nH --cut-dirs={max(len(names) - 1, 0)} -R "
        f'"index.html*" {shell_quoted(folder)}'
    )


def guarded(url: str, read, store=None):
    """``read()``, with any failure of the server raised as one SegmentError naming ``url``;
    the reads of ``store`` (a `RemoteStore`) it left running end first, or are cancelled."""
    reader = READER.set(object())
    try:
        return read()
    except SegmentError:
        raise
    except Exception as error:  # aiohttp, asyncio, fsspec and codecs raise many types
        message = f"{without_login(url)}: {describe_failure(error, url)}"
        cancelled = store.settle(READER.get()) if store is not None else []
        if cancelled:
            message += (
                f"; the reads of {', '.join(cancelled)} were still running after "
                f"{store.settle_s:g} s and were cancelled"
            )
        raise SegmentError(message) from error
    finally:
        READER.reset(reader)


class GuardedArray:
    """A remote zarr array whose reads fail with one SegmentError naming the URL."""

    def __init__(self, array, url: str) -> None:
        self.array, self.url = array, url
        self.shape, self.dtype, self.ndim = array.shape, array.dtype, array.ndim
        self.chunks = array.chunks

    def __getitem__(self, key):
        store = self.array.store  # a RemoteStore: chunks its cache kept damaged are read again
        return guarded(self.url, lambda: store.read_healing(lambda: self.array[key]), store)


def read_for_view(lazy):
    """``lazy``, a dask array of a remote segment, computed as napari's view reads it: through
    the store for the view (`DISPLAY_TIMEOUT_S`, no retries of a timeout), in threads that
    pass the marking on (`VIEW_READ`: dask's own do so only from 2026.1); with whether the
    server answered any of it (not so where the chunk cache held it all)."""
    from inkloop.io._remote_store import VIEW_READ, ViewRead

    token = VIEW_READ.set(read := ViewRead())
    try:
        return lazy.compute(scheduler="threads", pool=_view_threads()), read.answered
    finally:
        VIEW_READ.reset(token)


@functools.cache
def _view_threads():
    from concurrent.futures import ThreadPoolExecutor

    class InSubmittersContext(ThreadPoolExecutor):
        def submit(self, fn, /, *args, **kwargs):
            return super().submit(contextvars.copy_context().run, fn, *args, **kwargs)

    return InSubmittersContext(usable_cpus(), thread_name_prefix="inkloop-view-read")


def _http_store(url: str, timeout: float):
    from zarr.storage import FsspecStore

    options = {"client_kwargs": session_options(timeout, url)}
    url = urlsplit(without_login(url).rstrip("/")).geturl()  # "HTTP://": fsspec knows "http"
    return FsspecStore.from_url(url, storage_options=options, read_only=True)
