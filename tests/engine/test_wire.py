"""The engine's network messages: every command and event round-trips; nothing else decodes."""

from __future__ import annotations

import io
import json
import struct
import zlib
from pathlib import Path

import numpy as np
import pytest

from inkloop.compose import Composition
from inkloop.engine import _commands as c
from inkloop.engine import _events as e
from inkloop.engine._handshake import Answer, Challenge, Proof
from inkloop.engine._wire import Attach, ProtocolError, Spawn, decode, encode, read_frame
from inkloop.settings import EngineSettings


def _round_trip(message):
    stream = io.BytesIO(encode(message))

    def read_exactly(count):
        data = stream.read(count)
        if len(data) < count:
            raise EOFError
        return data

    return read_frame(read_exactly)


@pytest.mark.parametrize(
    "message",
    [
        c.Start(),
        c.Predict(3, (0, 0, 64, 96)),
        c.Save(Path("/x/model.pt")),
        c.Preview(4, None, 3.0),
        e.StateChanged(e.State.TRAINING, e.State.IDLE),
        e.StepDone(5, 0.7, 1e-3, 12.5, 8, 2, None),
        e.RunStarted(0, "tu-resnet10t", "cuda:0", "bfloat16", "4 worker processes", 32),
        e.ModelBuilt("resnet18", Composition("raw", 3, 8, reverse=True), None),
        e.Ranked(1, ((0, 0, 256, 256), (256, 0, 512, 256)), 40),
        Challenge(2, "ab" * 32),
        Answer(2, "cd" * 32, "ef" * 32),
        Proof("01" * 32),
        Attach("3f9a0c1d2e4b5a6c"),
    ],
)
def test_messages_round_trip(message):
    assert _round_trip(message) == message


def test_arrays_keep_dtype_shape_and_values():
    ink = np.arange(12, dtype=np.uint8).reshape(3, 4)
    update = _round_trip(c.UpdateLabels(7, (0, 0, 3, 4), ink, ink > 5))
    np.testing.assert_array_equal(update.ink, ink)
    assert update.supervised.dtype == bool
    settings = EngineSettings(tile=64, init=Path("/m.pt"), init_z_start=2)
    spawn = _round_trip(Spawn("/data/s", {"reverse": True}, settings, ink, ink > 0, 3))
    assert spawn.settings == settings
    assert spawn.open_options == {"reverse": True}


def test_a_big_endian_array_arrives_with_its_values():
    ink = np.arange(12, dtype=">u2").reshape(3, 4)  # as some TIFF readers give
    update = _round_trip(c.UpdateLabels(7, (0, 0, 3, 4), ink, ink > 5))
    np.testing.assert_array_equal(update.ink, ink)


def test_probability_tiles_travel_as_uint8():
    probability = np.random.default_rng(0).random((64, 64), dtype=np.float32)
    message = e.PredictionReady(1, (0, 0, 64, 64), 3, probability, 1, 1)
    assert len(encode(message)) < probability.nbytes / 3  # a byte a pixel, and a header
    back = _round_trip(message)
    assert back.probability.dtype == np.float32
    np.testing.assert_allclose(back.probability, probability, atol=0.5 / 255 + 1e-6)


def _frame(header: dict, *arrays: bytes) -> bytes:
    body = json.dumps(header).encode()
    return struct.pack(">I", len(body)) + body + b"".join(arrays)


@pytest.mark.parametrize(
    ("header", "message"),
    [
        ({"d": "Popen", "f": {}}, "'Popen' is not a message type"),
        ({"d": "Start", "f": {"evil": 1}}, "Start has no field 'evil'"),
        ({"d": "Cancel", "f": {"request": "1; rm -rf"}}, "Cancel.request must be int"),
        ({"x": 1}, "unknown tag 'x'"),
        ({"e": ["Popen", "x"]}, "'Popen' is not a message enum"),
        ({"d": "Start", "f": [1]}, "malformed message"),  # fields not a mapping
        ({"a": {"dtype": "uint8", "shape": [1e400], "size": 0}}, "malformed message"),
    ],
)
def test_unknown_types_and_fields_are_refused(header, message):
    with pytest.raises(ProtocolError, match=message):
        decode(_frame(header))


def test_arrays_are_checked_before_use():
    bomb = zlib.compress(bytes(100 * 2**20))  # 100 MB of zeros claiming to be 4 bytes
    header = {"a": {"dtype": "uint8", "shape": [4], "size": len(bomb), "as": None}}
    with pytest.raises(ProtocolError, match="do not match"):
        decode(_frame(header, bomb))
    header = {"a": {"dtype": "object", "shape": [1], "size": 0, "as": None}}
    with pytest.raises(ProtocolError, match="dtype 'object' is not allowed"):
        decode(_frame(header))
    header = {"a": {"dtype": "uint8", "shape": [0], "size": len(bomb), "as": None}}
    with pytest.raises(ProtocolError, match="do not match"):  # no bytes at all: still no bomb
        decode(_frame(header, bomb))
    header = {"a": {"dtype": "uint8", "shape": [4], "size": 10, "as": None}}
    with pytest.raises(ProtocolError, match="array bytes missing"):
        decode(_frame(header, b"abc"))


def test_the_arrays_of_one_frame_inflate_to_a_bounded_total(monkeypatch):
    from inkloop.engine import _wire_arrays

    update = c.UpdateLabels(
        1, (0, 0, 20, 30), np.zeros((20, 30), np.uint8), np.ones((20, 30), bool)
    )
    frame = encode(update)[4:]
    monkeypatch.setattr(
        _wire_arrays, "MAX_INFLATED", 20 * 30 * 2 - 1
    )  # each array fits, both do not
    with pytest.raises(ProtocolError, match="arrays of 1200 bytes are over the limit"):
        decode(frame)
    monkeypatch.setattr(_wire_arrays, "MAX_INFLATED", 20 * 30 * 2)
    assert decode(frame).supervised.all()


def test_an_array_that_inflates_past_its_shape_is_refused_before_it_is_inflated():
    import tracemalloc

    bomb = zlib.compress(bytes(64 << 20), 9)  # 64 MB of zeros in ~64 KB
    spec = {"dtype": "uint8", "shape": [16], "size": len(bomb), "as": None}
    fields = {"request": 1, "name": "model.pt", "data": {"a": spec}}
    header = json.dumps({"d": "Fetched", "f": fields}).encode()
    tracemalloc.start()
    try:
        with pytest.raises(ProtocolError, match=r"array bytes do not match uint8 \(16,\)"):
            decode(struct.pack(">I", len(header)) + header + bomb)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 8 << 20  # no more than the shape says is inflated: no bombs


def test_a_slow_stranger_is_cut_off_at_a_deadline_however_it_trickles(monkeypatch):
    from inkloop.engine import _wire

    clock = [100.0]
    monkeypatch.setattr(_wire.time, "monotonic", lambda: clock[0])

    class Trickle:  # one byte per second, each well within any per-read timeout
        def settimeout(self, seconds):
            assert 0 < seconds <= 10

        def recv(self, count):
            clock[0] += 1
            return b"x"

    read_exactly = _wire.socket_reader(Trickle(), deadline=110.0)
    with pytest.raises(TimeoutError):
        read_exactly(4096)
    assert clock[0] == 110.0


def test_garbage_and_oversized_frames_are_refused():
    with pytest.raises(ProtocolError, match="malformed message"):
        decode(struct.pack(">I", 4) + b"{{{{")
    with pytest.raises(ProtocolError, match="over the 10 limit"):
        read_frame(lambda n: struct.pack(">I", 11)[:n], limit=10)


def test_only_message_types_are_sent():
    with pytest.raises(ProtocolError, match="cannot send a set"):
        encode(c.Predict(1, {1, 2}))
