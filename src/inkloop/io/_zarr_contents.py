"""What a zarr array must be for inkloop to read it as CT layers, judged from its metadata
before any chunk is read: numbers (not text or objects), through codecs that decode numbers
and cannot run code (numcodecs' pickle runs any code a file holds: zarr accepts it behind
vlen-utf8), in chunks whose decoded size fits in memory (a metadata file may declare one
chunk of 10 GB, and a tile's read decodes its whole chunk)."""

from __future__ import annotations

import math

import numpy as np

from inkloop.io._errors import SegmentError

LAYER_KINDS = "biuf"  # numpy's kinds of bool, signed and unsigned integers, floats
# zarr's own codecs and numcodecs' (zarr 3 names these "numcodecs.<id>") that decode numbers
NUMERIC_CODECS = frozenset(
    {"bytes", "endian", "transpose", "sharding_indexed", "blosc", "zstd", "gzip", "crc32c"}
    | {"zlib", "lz4", "bz2", "lzma", "delta", "fixedscaleoffset", "quantize", "bitround"}
    | {"shuffle", "packbits", "astype", "adler32", "crc32", "fletcher32", "jenkins_lookup3"}
    | {"zfpy", "pcodec", "base64"}
)
_IMAGE_CODECS = "imagecodecs_"  # imagecodecs' codecs, where registered, decode pixels
MAX_CHUNK_BYTES = 1 << 30  # real layers come in chunks of 2-4 MB (128^3, 1 x 1024 x 1024)
ADVISED_SIDE = 2048  # pixels a side of the chunks a refusal of larger ones advises


def check_layer_array(array, where: str) -> None:
    """Raise SegmentError, naming ``where``, unless the zarr array ``array`` holds numbers
    through `NUMERIC_CODECS` in chunks of at most `MAX_CHUNK_BYTES` decoded."""
    dtype = np.dtype(array.dtype)
    others = [name for name in codec_names(array.metadata.to_dict()) if not _numeric(name)]
    if dtype.kind not in LAYER_KINDS or others:
        raise SegmentError(_not_numbers(where, dtype, others))
    chunk_bytes = math.prod(array.chunks) * dtype.itemsize  # a sharded array's inner chunk
    if chunk_bytes > MAX_CHUNK_BYTES:
        raise SegmentError(
            f"{where}: each chunk of its array is {' x '.join(map(str, array.chunks))} {dtype}, "
            f"{chunk_bytes / 2**30:.1f} GiB decoded, which reading any tile of it holds in "
            f"memory (inkloop reads chunks of up to {MAX_CHUNK_BYTES >> 30} GiB): rechunk it, "
            f"e.g. to {_advised_chunks(array.shape)} "
            f"({ADVISED_SIDE} x {ADVISED_SIDE} pixels of one layer)"
        )


def _advised_chunks(shape: tuple[int, ...]) -> str:
    """Chunks of one layer by `ADVISED_SIDE` pixels a side, in ``shape``'s own axis order (a
    depth-last segment's too): its layers are the smallest of its last three axes, tens
    against tens of thousands of pixels; the axes before those (OME's t, c) one a chunk."""
    first = max(len(shape) - 3, 0)
    layers = first + int(np.argmin(shape[first:])) if len(shape) >= 3 else None
    sides = [1 if axis < first or axis == layers else ADVISED_SIDE for axis in range(len(shape))]
    return " x ".join(map(str, sides))


def codec_names(metadata: dict) -> list[str]:
    """The ids (zarr 2) or names (zarr 3) of the codecs an array's metadata names, those of
    its shards' chunks and indexes included."""
    if metadata.get("zarr_format") == 2:
        codecs = (*(metadata.get("filters") or ()), metadata.get("compressor"))
        return [codec["id"] for codec in codecs if codec]
    return list(_v3_names(metadata.get("codecs") or ()))


def _v3_names(codecs):
    for codec in codecs:
        if isinstance(codec, str):
            yield codec
            continue
        yield codec["name"]
        inner = codec.get("configuration") or {}
        yield from _v3_names([*(inner.get("codecs") or ()), *(inner.get("index_codecs") or ())])


def _numeric(name: str) -> bool:
    return name.removeprefix("numcodecs.") in NUMERIC_CODECS or name.startswith(_IMAGE_CODECS)


def _not_numbers(where: str, dtype: np.dtype, codecs: list[str]) -> str:
    """The one message for an array of text or objects, or stored through ``codecs``
    (not `NUMERIC_CODECS`)."""
    named = f"codec{'s' * (len(codecs) > 1)} {', '.join(codecs)}"
    pickled = any(name.removeprefix("numcodecs.") == "pickle" for name in codecs)
    why = ", as a pickle codec would run any code the file holds" if pickled else ""
    if dtype.kind not in LAYER_KINDS:
        details = "; ".join([f"data type {dtype}", *([named] if codecs else [])])
        return f"{where}: its array holds text or objects ({details}), not CT layers: refused{why}"
    return (
        f"{where}: its array is stored through the {named}, not one of those inkloop reads "
        f"CT layers through (zarr's and numcodecs' codecs for numbers): refused{why}"
    )
