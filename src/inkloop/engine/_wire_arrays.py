"""Arrays in an engine frame (`_wire`): their bytes after the header, zlib-compressed, with
dtype and shape checked against their size before use; and the error of a frame that is not
a well-formed message."""

from __future__ import annotations

import math
import zlib

import numpy as np

MAX_FRAME = 512 * 2**20  # bytes: full labels of an 8k x 14k segment compress far below this
MAX_INFLATED = 4 * MAX_FRAME  # bytes the arrays of one frame may inflate to, in all
DTYPES = {"uint8", "bool", "uint16", "int16", "int32", "int64", "float32", "float64"}


class ProtocolError(ValueError):
    """A frame that is not a well-formed message of an allowed type."""


def pack_array(array: np.ndarray, arrays: list, probability: bool) -> dict:
    if not array.dtype.isnative:  # its bytes are read in the receiver's order
        array = array.astype(array.dtype.newbyteorder("="))
    if probability and array.dtype == np.float32:
        stored = np.clip(array * 255 + 0.5, 0, 255).astype(np.uint8)
    else:
        stored = np.ascontiguousarray(array)
    if stored.dtype.name not in DTYPES:
        raise ProtocolError(f"cannot send a {stored.dtype} array")
    # from its own buffer: a copy (224 MB of a full-size Spawn's labels) would hold the GIL
    data = zlib.compress(stored, 1)
    arrays.append(data)
    return {
        "dtype": stored.dtype.name,
        "shape": list(stored.shape),
        "size": len(data),
        "as": "float32/255" if stored is not array and probability else None,
    }


class Buffers:
    """The arrays' bytes after a frame's header, taken in order; and the fields left out of
    the frame's messages (`decode`'s ``dropped``)."""

    def __init__(self, data: memoryview, dropped: list[str] | None) -> None:
        self.data, self.offset, self.dropped = data, 0, dropped
        self.inflated = 0  # bytes all arrays of the frame take, at most MAX_INFLATED

    def array(self, spec: dict) -> np.ndarray:
        dtype = str(spec["dtype"])
        if dtype not in DTYPES:
            raise ProtocolError(f"array dtype {dtype!r} is not allowed")
        shape = tuple(int(n) for n in spec["shape"])
        if any(n < 0 for n in shape):
            raise ProtocolError(f"array shape {shape} is negative")
        expected = math.prod(shape) * np.dtype(dtype).itemsize
        self.inflated += expected
        if self.inflated > MAX_INFLATED:
            raise ProtocolError(f"arrays of {self.inflated} bytes are over the limit")
        size = int(spec["size"])
        chunk = bytes(self.data[self.offset : self.offset + size])
        if len(chunk) != size:
            raise ProtocolError("array bytes missing")
        self.offset += size
        inflater = zlib.decompressobj()
        # never more than the shape says (0 would mean no limit): no bombs
        raw = inflater.decompress(chunk, max(expected, 1))
        if len(raw) != expected or inflater.unconsumed_tail:
            raise ProtocolError(f"array bytes do not match {dtype} {shape}")
        array = np.frombuffer(raw, dtype).reshape(shape).copy()
        if spec.get("as") == "float32/255":
            return array.astype(np.float32) * np.float32(1 / 255)
        return array
