"""The engine's messages on a network: framed JSON plus raw array bytes, never pickle.

A frame is a 4-byte big-endian length, then the payload: a 4-byte length, a JSON header and
the arrays' bytes. The header names a message type from an allow-list (the engine's command
and event dataclasses, their settings, and the session messages of `_wire_messages`) and its
fields in a tagged form. Every field is sent, but for the few added since the oldest dock
or server that still connects (`OMIT_AT_DEFAULT`): at the value those older sides behave as
(and the reader fills in that value, not its own default), it is left out, so the older side
reads the message. With another value it stops an older reader as an UnknownMessageError,
which each side answers (`_versions`); a dock leaves out a field whose value it cannot read
where its own type has a default, so one new nested setting does not cost it the event.
Arrays travel as their bytes, checked before use (`_wire_arrays`); probability tiles go as
uint8 (`PROBABILITY_FIELDS`), as the dock shows them. Anything else — an unknown type, a
frame over the limit, bad JSON, a short read — is a ProtocolError.
"""

from __future__ import annotations

import dataclasses
import enum
import json
import struct
import time
from pathlib import Path

import numpy as np

from inkloop import compose, settings
from inkloop.engine import _commands, _events, _handshake
from inkloop.engine._wire_arrays import MAX_FRAME, Buffers, ProtocolError, pack_array
from inkloop.engine._wire_messages import Attach, Fetch, Fetched, Ping, Refused, Spawn, Welcome

HELLO_LIMIT = 4096  # bytes a connection may send before it has authenticated
PROBABILITY_FIELDS = {"probability"}  # float32 0..1 sent as uint8 0-255: 4x less, as shown
LENGTH = struct.Struct(">I")  # every length on the wire: of a frame, and of its header
# fields that e384c6c (the first handshake 2, the oldest side that connects) lacks, with the
# value it behaves as: only these are left out at that value; everything else always crosses
OMIT_AT_DEFAULT = {
    "PredictSegment.replace": False,
    "ModelBuilt.provenance": None,
    "ModelBuilt.train": None,
    "ModelBuilt.trained_reversed": False,
    "ModelBuilt.reversed_as_trained": False,
    "RunStarted.run": None,
    "RunStarted.init": None,
    "CheckpointSaved.run": None,
    "CheckpointSaved.init": None,
}


class UnknownMessageError(ProtocolError):
    """A well-formed frame naming a message type, field or value this side lacks: the peer
    runs another inkloop. ``what`` names it ('PredictSegment.replace'); ``request``: the
    request number the message carried, if any (so that its answer can say why)."""

    def __init__(self, message: str, what: str, request: int | None = None) -> None:
        super().__init__(message)
        self.what, self.request = what, request


def _registry() -> dict[str, type]:
    types = [Attach, Welcome, Spawn, Refused, Fetch, Fetched, Ping]
    for module in (_commands, _events, settings, compose, _handshake):
        types += [v for v in vars(module).values() if dataclasses.is_dataclass(v)]
    from inkloop.engine._child import SetupFailed, Waited

    return {t.__name__: t for t in [*types, SetupFailed, Waited] if isinstance(t, type)}


ALLOWED = _registry()
ENUMS = {"State": _events.State}


def encode(message) -> bytes:
    """One frame holding ``message`` (an instance of an allowed dataclass)."""
    arrays: list[bytes] = []
    header = json.dumps(_tag(message, arrays, None)).encode()
    payload = b"".join([LENGTH.pack(len(header)), header, *arrays])
    if len(payload) > MAX_FRAME:
        raise ProtocolError(f"message of {len(payload)} bytes is over the {MAX_FRAME} limit")
    return LENGTH.pack(len(payload)) + payload


def read_frame(read_exactly, limit: int = MAX_FRAME, dropped: list[str] | None = None):
    """The next message, read with ``read_exactly(n)`` (which raises EOFError at the end);
    ``dropped``: as `decode`'s."""
    (length,) = LENGTH.unpack(read_exactly(LENGTH.size))
    if length > limit:
        raise ProtocolError(f"frame of {length} bytes is over the {limit} limit")
    return decode(read_exactly(length), dropped)


def socket_reader(sock, deadline: float | None = None):
    """``read_exactly(n)`` for `read_frame` over a socket: EOFError if it closes first,
    TimeoutError past ``deadline`` (`time.monotonic`), however slowly the bytes trickle in."""

    def read_exactly(count: int) -> bytes:
        data = bytearray()
        while len(data) < count:
            if deadline is not None:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError("too slow")
                sock.settimeout(left)
            chunk = sock.recv(min(count - len(data), 1 << 20))
            if not chunk:
                raise EOFError("connection closed")
            data += chunk
        return bytes(data)

    return read_exactly


def decode(payload: bytes, dropped: list[str] | None = None):
    """The message in one frame's payload. With ``dropped``, fields this side's types lack
    are left out and named in it (as 'ModelBuilt.provenance'); without, UnknownMessageError."""
    try:
        (size,) = LENGTH.unpack_from(payload)
        header = json.loads(payload[LENGTH.size : LENGTH.size + size])
        buffers = Buffers(memoryview(payload)[LENGTH.size + size :], dropped)
        return _untag(header, buffers)
    except ProtocolError:
        raise
    except Exception as error:  # whatever bytes arrive: one refusal, never a crash
        raise ProtocolError(f"malformed message ({type(error).__name__}: {error})") from error


def _tag(value, arrays: list, name: str | None):
    if isinstance(value, enum.Enum):  # before str: State is a str too
        return {"e": [type(value).__name__, value.value]}
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, Path):
        return {"p": str(value)}
    if isinstance(value, np.ndarray):
        return {"a": pack_array(value, arrays, name in PROBABILITY_FIELDS)}
    if dataclasses.is_dataclass(value):
        kind = type(value).__name__
        if ALLOWED.get(kind) is not type(value):
            raise ProtocolError(f"{kind} is not a message type")
        fields = {f.name: getattr(value, f.name) for f in _fields(value)}
        fields = {k: _tag(v, arrays, k) for k, v in fields.items() if not _old(kind, k, v)}
        return {"d": kind, "f": fields}
    if isinstance(value, (list, tuple)):
        return {"t" if isinstance(value, tuple) else "l": [_tag(v, arrays, name) for v in value]}
    if isinstance(value, dict):
        return {"m": {str(k): _tag(v, arrays, name) for k, v in value.items()}}
    raise ProtocolError(f"cannot send a {type(value).__name__}")


def _fields(value):
    return [f for f in dataclasses.fields(value) if f.init]


def _old(kind: str, name: str, value) -> bool:
    """Whether field ``name`` of a ``kind`` is in `OMIT_AT_DEFAULT` and holds the value that
    older sides, which lack it, behave as: left out, so that they read the message."""
    what = f"{kind}.{name}"
    if what not in OMIT_AT_DEFAULT:
        return False
    old = OMIT_AT_DEFAULT[what]
    return type(value) is type(old) and value == old  # no 0 == False


def _untag(value, buffers):
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if not isinstance(value, dict):
        raise ProtocolError(f"untagged {type(value).__name__}")
    if "d" in value:
        return _untag_dataclass(value, buffers)
    if len(value) != 1:
        raise ProtocolError("malformed tag")
    ((tag, body),) = value.items()
    untag = _UNTAG.get(tag)
    if untag is None:
        raise ProtocolError(f"unknown tag {tag!r}")
    return untag(body, buffers)


def _untag_dataclass(header: dict, buffers):
    kind = ALLOWED.get(header["d"])
    request = header["f"].get("request")
    request = request if type(request) is int else None
    if kind is None:
        raise UnknownMessageError(f"{header['d']!r} is not a message type", header["d"], request)
    fields = {f.name: f for f in _fields(kind)}
    values = {}
    for name, tagged in header["f"].items():  # arrays taken in order
        start = buffers.offset
        try:
            values[name] = _untag(tagged, buffers)
        except UnknownMessageError as error:
            error.request = request if error.request is None else error.request
            if buffers.dropped is None or not _optional(fields.get(name)):
                raise
            buffers.offset = start
            _skip(tagged, buffers)
            buffers.dropped.append(error.what)
    for name in fields.keys() - values.keys():  # left out: the value older sides behave as
        if f"{kind.__name__}.{name}" in OMIT_AT_DEFAULT:
            values[name] = OMIT_AT_DEFAULT[f"{kind.__name__}.{name}"]
    for name in [n for n in values if n not in fields]:
        what = f"{kind.__name__}.{name}"
        if buffers.dropped is None:
            raise UnknownMessageError(f"{kind.__name__} has no field {name!r}", what, request)
        buffers.dropped.append(what)
        del values[name]
    for name, value in values.items():
        expected = _SCALARS.get(str(fields[name].type))
        if expected and not isinstance(value, expected):
            raise ProtocolError(f"{kind.__name__}.{name} must be {fields[name].type}")
    return kind(**values)


def _optional(field: dataclasses.Field | None) -> bool:
    """Whether a message of this side's type may lack the field (None: a field it lacks)."""
    missing = dataclasses.MISSING
    return field is None or field.default is not missing or field.default_factory is not missing


def _skip(tagged, buffers) -> None:
    """Step over the arrays of a field's value that is left out unread."""
    if isinstance(tagged, dict) and "d" in tagged:
        for value in tagged["f"].values():
            _skip(value, buffers)
    elif isinstance(tagged, dict) and len(tagged) == 1:
        ((tag, body),) = tagged.items()
        if tag == "a":
            buffers.offset += int(body["size"])
        elif tag in ("t", "l", "m"):
            for value in body.values() if tag == "m" else body:
                _skip(value, buffers)


# fields annotated as one of these must hold it (an int is a fine float)
_SCALARS = {"int": int, "float": (int, float), "str": str, "bool": bool}


def _untag_enum(body, _buffers):
    kind = ENUMS.get(body[0])
    if kind is None:
        raise ProtocolError(f"{body[0]!r} is not a message enum")
    if body[1] not in {member.value for member in kind}:
        raise UnknownMessageError(f"{body[0]} has no value {body[1]!r}", f"{body[0]}.{body[1]}")
    return kind(body[1])


def _untag_dict(body, buffers):
    return {str(k): _untag(v, buffers) for k, v in body.items()}


_UNTAG = {
    "e": _untag_enum,
    "p": lambda body, _: Path(str(body)),
    "a": lambda body, buffers: buffers.array(body),
    "t": lambda body, buffers: tuple(_untag(v, buffers) for v in body),
    "l": lambda body, buffers: [_untag(v, buffers) for v in body],
    "m": _untag_dict,
}
