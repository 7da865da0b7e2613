"""What the chunks of a remote zarr's arrays declare of their length, and which version of
each array's metadata they belong to, learnt from its metadata as that is read
(`ChunkLayouts`): by these `RemoteStore` lets through, and `ChunkCache` keeps, no chunk
cut off or replaced by a web page, and a chunk cache hands over no chunk it kept for other
metadata (a zarr re-rendered on the server under the same URL)."""

from __future__ import annotations

import hashlib
import json
import math

import aiohttp
import numpy as np
from multidict import CIMultiDict, CIMultiDictProxy
from yarl import URL

_COMPRESSORS = {"blosc": "blosc", "zstd": "zstd"}  # a codec whose chunks declare a length
_COMPRESSORS.update({f"numcodecs.{name}": name for name in _COMPRESSORS})  # zarr 3's names
_ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"
_DECLARED_IN = {"raw": "array's metadata", "blosc": "Blosc header", "zstd": "zstd frame"}
# what in an array's metadata decides its chunks' keys and bytes, by zarr format; not its
# attributes, nor how consolidated metadata spells the rest
_CHUNK_FIELDS = {
    2: ["shape", "chunks", "dtype", "compressor", "filters", "fill_value", "order"],
    3: ["shape", "data_type", "chunk_grid", "chunk_key_encoding", "codecs", "fill_value"],
}
_CHUNK_FIELDS[2].append("dimension_separator")
_CHUNK_FIELDS[3].append("storage_transformers")


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
    header's, a zstd frame's blocks; and a digest of each array's metadata (`version`).
    ``url``: the zarr's, for messages."""

    def __init__(self, url: str = "") -> None:
        self.url = url
        self._arrays: dict[str, tuple] = {}  # array folder -> ((kind, raw size) | None, digest)

    def learn(self, key: str, text: bytes) -> None:
        """Note the layouts and versions of the arrays the metadata file ``key`` (its bytes
        ``text``) describes."""
        for folder, (zarr_format, entry) in _arrays_described(key, text).items():
            layout = _v2_layout if zarr_format == 2 else _v3_layout
            try:
                found = layout(entry)
            except (ValueError, TypeError, KeyError, AttributeError):
                found = None  # a data type or codec not judged here
            self._arrays[folder] = (found, _digest(zarr_format, entry))

    def version(self, key: str) -> tuple[str, str] | None:
        """(the folder of chunk ``key``'s array, a digest of what in that array's metadata
        as read decides its chunks: shape, chunks, data type, codecs, fill value); None
        where no metadata of its array was read."""
        folder = self._array_of(key)
        return None if folder is None else (folder, self._arrays[folder][1])

    def refusal(self, key: str, data) -> aiohttp.ClientError | None:
        """Why ``data`` (bytes or uint8 array) cannot be chunk ``key``: a web page (HTML), or
        shorter than it declares (a `CutOffChunk`); None where it may be."""
        folder = self._array_of(key)
        layout = None if folder is None else self._arrays[folder][0]
        declared = None if layout is None else _declared_length(layout, data)
        if declared != len(data) and _is_web_page(data):
            return WebPageAnswer(f"{self.url}/{key}", key)
        if declared is not None and len(data) < declared:
            said = f"{len(data)} of the {declared} bytes its {_DECLARED_IN[layout[0]]} declares"
            return CutOffChunk(f"chunk {key} is {said}")
        return None

    def _array_of(self, key: str) -> str | None:
        folders = [f for f in self._arrays if not f or key.startswith(f"{f}/")]
        return max(folders, key=len) if folders else None


def _arrays_described(key: str, text: bytes) -> dict[str, tuple[int, dict]]:
    """{array folder: (zarr format, its metadata)} of the arrays the metadata file ``key``
    describes: itself (.zarray, an array's zarr.json), or a group's consolidated entries."""
    folder, _, name = key.rpartition("/")
    try:
        metadata = json.loads(text)
        if name == ".zmetadata":  # v2 consolidated: {"metadata": {"0/.zarray": {...}}}
            entries = {k.rpartition("/"): m for k, m in metadata["metadata"].items()}
            arrays = {k[0]: (2, m) for k, m in entries.items() if k[2] == ".zarray"}
        elif name == ".zarray":
            arrays = {"": (2, metadata)}
        elif name == "zarr.json":  # an array's, or a group's with its consolidated metadata
            inner = (metadata.get("consolidated_metadata") or {}).get("metadata") or {}
            arrays = {k: (3, m) for k, m in {"": metadata, **inner}.items()}
            arrays = {k: v for k, v in arrays.items() if v[1].get("node_type") == "array"}
        else:
            return {}
    except (ValueError, TypeError, KeyError, AttributeError):
        return {}  # not metadata zarr can read either: it says so, and nothing is checked
    return {
        "/".join(part for part in (folder, k) if part): v
        for k, v in arrays.items()
        if isinstance(v[1], dict)
    }


def _digest(zarr_format: int, metadata: dict) -> str:
    fields = {name: metadata.get(name) for name in _CHUNK_FIELDS[zarr_format]}
    text = json.dumps(fields, sort_keys=True, default=str)
    return hashlib.sha1(text.encode()).hexdigest()[:12]


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
