"""Which zarr format a remote zarr is, found before zarr opens it: zarr left to guess asks
for the metadata of both formats, and a server that answers a key it lacks with a 403 (S3
and CloudFront without list rights) or a web page (servers answering every path) failed
every open."""

from __future__ import annotations

import json

import aiohttp
from zarr.storage import WrapperStore

from inkloop.io._chunk_cache import METADATA_KEYS

# the keys that say a zarr is there, and its format, in the order they are asked for
_FORMAT_KEYS = (("zarr.json", 3), (".zarray", 2), (".zgroup", 2))


class NoMetadataError(FileNotFoundError):
    """No zarr's metadata at a URL; ``why``: the first answer that was not a 404 (a 403, a
    web page as a `json.JSONDecodeError`), or None where every key was a 404."""

    def __init__(self, why: Exception | None = None) -> None:
        super().__init__("no zarr.json, .zarray or .zgroup")
        self.why = why


class MetadataAnswers(WrapperStore):
    """The server's store, with a metadata key it refuses (403) or answers with a web page
    read as absent: a 404 in other words. What the root's keys were answered, when not
    read, is kept in ``answers`` for `zarr_format` (which tells the user of them when no
    key is there). The metadata found is kept for this store's open: zarr's open asks for
    the root's again, and the bound of side files (`inkloop.io._remote_sides`) reads a
    level's before the layers' open does."""

    def __init__(self, store, answers: dict | None = None, kept: dict | None = None) -> None:
        super().__init__(store)
        self.answers = {} if answers is None else answers  # root key -> 403 error / page
        self._kept = {} if kept is None else kept  # metadata key -> its value, as found

    def _with_store(self, store):
        return type(self)(store, self.answers, self._kept)

    async def get(self, key, prototype, byte_range=None):
        if byte_range is not None or key.rsplit("/", 1)[-1] not in METADATA_KEYS:
            return await self._store.get(key, prototype, byte_range)
        if key in self._kept:  # this store's: each open of a URL makes its own
            return self._kept[key]
        try:
            value = await self._store.get(key, prototype)
        except aiohttp.ClientResponseError as error:
            if error.status != 403:
                raise
            return self._absent(key, error)
        if value is not None and value.to_bytes().lstrip()[:1] == b"<":  # JSON never is
            page = value.to_bytes().decode("utf-8", "replace")
            return self._absent(key, json.JSONDecodeError("a web page", page, 0))
        if value is not None:
            self._kept[key] = value
        return value

    def _absent(self, key: str, why: Exception) -> None:
        if "/" not in key:
            self.answers.setdefault(key, why)
        return None


def zarr_format(store, answered: MetadataAnswers) -> int:
    """The format (2 or 3) of the zarr at the root of ``store`` (``answered`` below it);
    `NoMetadataError` if none of its keys is there. The keys are asked for together (one
    round trip, not three), and taken in `_FORMAT_KEYS`' order, as if asked one by one."""
    import asyncio

    from zarr.core.buffer import default_buffer_prototype
    from zarr.core.sync import sync

    async def ask_all():
        asked = (store.get(key, default_buffer_prototype()) for key, _ in _FORMAT_KEYS)
        return await asyncio.gather(*asked, return_exceptions=True)

    for (_key, found), answer in zip(_FORMAT_KEYS, sync(ask_all()), strict=True):
        if isinstance(answer, BaseException):
            raise answer
        if answer is not None:
            return found
    answers = answered.answers
    refusals = [answers[key] for key, _ in _FORMAT_KEYS if key in answers]
    raise NoMetadataError(refusals[0] if refusals else None)
