"""How many bytes an answer of the server may hold, counted as they arrive (decoded, where the
server compresses them: a gzip Content-Encoding), and refused in one message past that: a
zarr's metadata or a listing `MAX_ANSWER_BYTES`, a chunk twice what its metadata says it
holds decoded (`ChunkBounds`), a side image what its segment's pixels take uncompressed
(`side_image_bound`). An endless answer, or a small one inflating to gigabytes, would fill
memory, or the disk that holds the segment's labels, until the whole-answer timeout."""

from __future__ import annotations

import contextvars
import math
from dataclasses import dataclass

import aiohttp
import numpy as np

from inkloop.io._chunk_cache import METADATA_KEYS
from inkloop.io._chunk_layouts import _arrays_described
from inkloop.io._remote_common import without_login

MAX_ANSWER_BYTES = 64 << 20  # a zarr's metadata, a folder listing: any answer not told below
MAX_CHUNK_BYTES = 1 << 30  # a chunk of an array whose metadata tells no size
MAX_SIDE_IMAGE_BYTES = 4 << 30  # a side image of a segment whose size could not be read
SIDE_IMAGE_PIXEL_BYTES = 8  # 16-bit RGBA, stored uncompressed: the most a mask or labels take
_PADDING = 256  # a side image may be padded by up to this on each side (as the GP code pads)
_HEADERS = 1 << 20  # room for an image's headers, a shard's index
_BLOCK = 1 << 20  # read at a time


@dataclass(frozen=True)
class AnswerBound:
    """The most bytes ``name`` (what is read) may take, and what that much ``holds`` (for
    the message)."""

    limit: int
    name: str
    holds: str


#: the bound of the answer a task reads now (`BoundedAnswer.read`); unset: `MAX_ANSWER_BYTES`
ANSWER_BOUND: contextvars.ContextVar[AnswerBound | None] = contextvars.ContextVar(
    "inkloop_answer_bound", default=None
)


class AnswerTooLarge(aiohttp.ClientError):
    """An answer past its `AnswerBound` (said or sent): refused, not tried again."""

    def __init__(self, bound: AnswerBound) -> None:
        size = f"{bound.limit >> 20} MB" if bound.limit >= 1 << 20 else f"{bound.limit} bytes"
        super().__init__(f"{bound.name} is over {size}, more than {bound.holds}: refused")


class BoundedAnswer(aiohttp.ClientResponse):
    """aiohttp's response whose body (`read`, `text`, `json`) is read up to `ANSWER_BOUND`."""

    async def read(self) -> bytes:
        if self._body is None:
            bound = ANSWER_BOUND.get() or AnswerBound(
                MAX_ANSWER_BYTES, without_login(str(self.url)), "any zarr metadata or listing holds"
            )
            try:
                self._body = b"".join([block async for block in bounded_blocks(self, bound)])
            except BaseException:
                self.close()
                raise
        return await super().read()


async def bounded_blocks(answer, bound: AnswerBound):
    """The body of ``answer`` (aiohttp's response) block by block, decoded; `AnswerTooLarge`
    as soon as it passes ``bound``: before any byte is read where its length says so."""
    if answer.content_length is not None and answer.content_length > bound.limit:
        raise AnswerTooLarge(bound)
    count = 0
    while block := await answer.content.read(min(_BLOCK, bound.limit + 1 - count)):
        count += len(block)
        if count > bound.limit:
            raise AnswerTooLarge(bound)
        yield block


class ChunkBounds:
    """The bound of each answer of a zarr's store: its metadata `MAX_ANSWER_BYTES`; a chunk
    twice what a chunk of its array holds decoded (codecs that widen a data type, a shard's
    index), as learnt from the metadata read; else `MAX_CHUNK_BYTES`."""

    def __init__(self) -> None:
        self._arrays: dict[str, tuple[int, str]] = {}  # array folder -> (limit, what it holds)

    def learn(self, key: str, text: bytes) -> None:
        """Note the chunks of the arrays metadata file ``key`` (its bytes ``text``) describes."""
        for folder, (zarr_format, metadata) in _arrays_described(key, text).items():
            chunk = _chunk_of(zarr_format, metadata)
            if chunk is None:
                self._arrays.pop(folder, None)
                continue
            shape, dtype = chunk
            size = math.prod(shape) * dtype.itemsize
            holds = f"twice what a chunk of {' × '.join(map(str, shape))} {dtype} holds decoded"
            self._arrays[folder] = (2 * size + _HEADERS, holds)

    def of(self, key: str, array: str | None) -> AnswerBound:
        """The bound of ``key``, a key of the array at ``array`` (None: unknown)."""
        if key.rsplit("/", 1)[-1] in METADATA_KEYS:
            return AnswerBound(MAX_ANSWER_BYTES, key, "any zarr metadata holds")
        limit, holds = self._arrays.get(array, (MAX_CHUNK_BYTES, "any chunk inkloop reads"))
        return AnswerBound(limit, f"chunk {key}", holds)


def _chunk_of(zarr_format: int, metadata: dict) -> tuple[list[int], np.dtype] | None:
    """(chunk shape, data type) of an array's ``metadata``; None for a data type of no fixed
    size (text, objects) or metadata zarr would not read either."""
    try:
        if zarr_format == 2:
            shape, dtype = metadata["chunks"], np.dtype(metadata["dtype"])
        else:
            shape = metadata["chunk_grid"]["configuration"]["chunk_shape"]
            dtype = np.dtype(metadata["data_type"])
        shape = [int(side) for side in shape]
    except (KeyError, TypeError, ValueError):
        return None
    if dtype.hasobject or dtype.itemsize == 0 or min(shape, default=0) < 1:
        return None
    return shape, dtype


def side_image_bound(node, url: str) -> AnswerBound:
    """The bound of a side image of the segment at ``url``, opened as the zarr ``node``: what
    its finest level's pixels take (its sides but the smallest, whichever axis the layers
    are); `MAX_SIDE_IMAGE_BYTES` where that level cannot be read (its open then says why)."""
    shape = _finest_shape(node, url)
    if shape is None:
        return AnswerBound(MAX_SIDE_IMAGE_BYTES, "the image", "any side image inkloop opens")
    sides = list(shape)
    while len(sides) > 2:
        sides.remove(min(sides))
    height, width = [1] * (2 - len(sides)) + sides
    pixels = (height + _PADDING) * (width + _PADDING)
    holds = (
        f"an image of this segment's {height} × {width} pixels (padded) holds, "
        f"{SIDE_IMAGE_PIXEL_BYTES} bytes a pixel, uncompressed"
    )
    return AnswerBound(SIDE_IMAGE_PIXEL_BYTES * pixels + _HEADERS, "the image", holds)


def _finest_shape(node, url: str) -> tuple[int, ...] | None:
    """The shape of the finest level of ``node``: an array's own, a group's first pyramid
    level's (read as the layers' open reads it next); None where that cannot be read."""
    import zarr

    from inkloop.io._errors import SegmentError
    from inkloop.io._remote import guarded
    from inkloop.io._sources import multiscale_paths

    if isinstance(node, zarr.Array):
        return node.shape
    try:
        return guarded(url, lambda: node[multiscale_paths(node)[0]].shape, node.store)
    except SegmentError:
        return None
