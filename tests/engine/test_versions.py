"""A dock and an engine server of different inkloops: the server names its version and wire
in its first frame (which older docks read and throw away), a dock says at connect that they
differ; a message one side cannot read is said, once, and the link goes on. Real servers on
127.0.0.1; old sides are recorded frames of their format."""

from __future__ import annotations

import json
import socket
import threading
import zlib
from pathlib import Path

import numpy as np
import pytest

from inkloop.compose import Composition
from inkloop.engine import Failed, ModelBuilt, Notice, State, StateChanged, _versions
from inkloop.engine import _commands as c
from inkloop.engine._handshake import FOR_OLDER_DOCKS, check_answer, new_challenge
from inkloop.engine._sockets import SocketConnection
from inkloop.engine._versions import greeting, skew
from inkloop.engine._wire import (
    HELLO_LIMIT,
    LENGTH,
    Ping,
    Refused,
    Spawn,
    UnknownMessageError,
    decode,
    encode,
    read_frame,
    socket_reader,
)
from inkloop.settings import EngineSettings, TrainConfig
from tests._engine import TOKEN, folder_labels, past_handshake, process_settings
from tests._events import TIMEOUT

# recorded from a dock of a8d7036 (before PredictSegment.replace): what it sends for Predict
OLD_PREDICT = b'\x00\x00\x00X\x00\x00\x00T{"d": "PredictSegment", "f": {"request": 3, "out": {"p": "out.zarr"}, "tta": false}}'  # noqa: E501
# a server of 5adc950's first frame: FOR_OLDER_DOCKS, no mark of its version
OLD_GREETING = encode(Refused(FOR_OLDER_DOCKS))


def _with(frame: bytes, add: dict, *path: str) -> bytes:
    """``frame`` with the fields ``add`` put into its message (``path``: field names down to
    the message inside it), as a side with those fields would send it."""
    (size,) = LENGTH.unpack_from(frame, LENGTH.size)
    start = 2 * LENGTH.size
    header = json.loads(frame[start : start + size])
    fields = header["f"]
    for name in path:
        fields = fields[name]["f"]
    fields.update(add)
    text = json.dumps(header).encode()
    payload = LENGTH.pack(len(text)) + text + frame[start + size :]
    return LENGTH.pack(len(payload)) + payload


def _frame(header: dict, arrays: bytes = b"") -> bytes:
    text = json.dumps(header).encode()
    payload = LENGTH.pack(len(text)) + text + arrays
    return LENGTH.pack(len(payload)) + payload


def _spawned(server, folder) -> socket.socket:
    sock = past_handshake(server.address)
    ink, supervised = folder_labels(folder)
    sock.sendall(encode(Spawn(str(folder), {}, process_settings(), ink, supervised, 1)))
    assert not read_frame(socket_reader(sock)).attached  # the Welcome
    return sock


def test_an_old_docks_recorded_predict_still_reads():
    assert decode(OLD_PREDICT[LENGTH.size :]) == c.PredictSegment(3, Path("out.zarr"))


def _header(frame: bytes) -> dict:
    (size,) = LENGTH.unpack_from(frame, LENGTH.size)
    return json.loads(frame[2 * LENGTH.size : 2 * LENGTH.size + size])


def test_a_new_field_at_its_default_is_not_sent_so_older_sides_read_the_message():
    predict = c.PredictSegment(3, Path("out.zarr"))  # replace=False, as a dock sends it
    built = ModelBuilt("tu-test_resnet", Composition())  # a fresh model: provenance=None
    old_built = {"encoder", "composition", "trained_start", "train", "trained_reversed"}
    for message, old_fields in [
        (predict, {"request", "out", "tta"}),  # a8d7036's PredictSegment
        (built, {*old_built, "reversed_as_trained"}),  # 5adc950's ModelBuilt
    ]:
        frame = encode(message)
        assert set(_header(frame)["f"]) <= old_fields
        assert decode(frame[LENGTH.size :]) == message


def test_the_first_frame_marks_the_version_and_older_docks_read_it_as_before():
    first = encode(greeting())
    assert len(first) < HELLO_LIMIT
    assert greeting().message.startswith(FOR_OLDER_DOCKS)
    assert skew(greeting()) is None  # the same inkloop on both: nothing said
    assert "older inkloop than this dock" in skew(decode(OLD_GREETING[LENGTH.size :]))


def test_a_command_the_server_lacks_is_answered_and_the_link_goes_on(server, training_folder):
    predict = encode(c.PredictSegment(7, Path("o.zarr")))
    with _spawned(server, training_folder) as sock:
        sock.sendall(_with(predict, {"from_the_future": True}) + encode(Ping()))
        read, heard = socket_reader(sock), []
        while not isinstance(heard[-1:] and heard[-1], Ping):  # the server answers the Ping
            heard.append(read_frame(read))
        sock.sendall(encode(c.Close()))
    (failed,) = [m for m in heard if isinstance(m, Failed)]
    assert failed.request == 7
    assert "cannot read 'PredictSegment.from_the_future'" in failed.message
    assert "the dock runs a newer inkloop than the server" in failed.message


def test_a_spawn_the_server_cannot_read_is_refused_saying_why(server, training_folder):
    ink, supervised = folder_labels(training_folder)
    spawn = encode(Spawn(str(training_folder), {}, process_settings(), ink, supervised, 1))
    with past_handshake(server.address) as sock:
        sock.sendall(_with(spawn, {"lr_dreams": 3}, "settings"))
        answer = read_frame(socket_reader(sock))
    assert isinstance(answer, Refused)
    assert "cannot read 'EngineSettings.lr_dreams', which the dock sent" in answer.message


class _OtherServer:
    """A server of another inkloop on 127.0.0.1: it greets with ``first``, proves itself, then
    sends ``frames`` and hangs up."""

    def __init__(self, first: bytes, frames: list[bytes]) -> None:
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.address = self.listener.getsockname()[:2]
        self._first, self._frames = first, frames
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        sock, _ = self.listener.accept()
        with sock, self.listener:
            challenge, nonce = new_challenge()
            sock.sendall(self._first + encode(challenge))
            answer = read_frame(socket_reader(sock), HELLO_LIMIT)
            sock.sendall(encode(check_answer(answer, nonce, TOKEN.encode())))
            sock.sendall(b"".join(self._frames))
            sock.shutdown(socket.SHUT_WR)
            sock.recv(1 << 16)  # the dock's Ping, then its close


def _heard_from(server: _OtherServer) -> list:
    """What a dock's link hears from ``server`` until it hangs up."""
    connection = SocketConnection.connect(server.address)
    heard = []
    try:
        connection.authenticate(TOKEN)
        connection.beat(60.0, TIMEOUT)
        while True:
            heard.append(connection.recv())
    except EOFError:
        return heard
    finally:
        connection.close()
        server.thread.join(TIMEOUT)


def test_a_dock_says_an_older_server_is_older_at_connect():
    running = encode(StateChanged(State.TRAINING, State.IDLE))
    heard = _heard_from(_OtherServer(OLD_GREETING, [running]))
    assert isinstance(heard[0], Notice)
    assert "older inkloop than this dock" in heard[0].message
    assert heard[1:] == [StateChanged(State.TRAINING, State.IDLE)]


def test_what_a_newer_server_sends_that_the_dock_lacks_is_skipped_said_once():
    newer = encode(Refused(f"{FOR_OLDER_DOCKS} [inkloop 0.2.0, wire 0123abcd]"))
    running = encode(StateChanged(State.TRAINING, State.IDLE))
    mood = _with(running, {"mood": "calm"})
    telepathy = _frame({"d": "Telepathy", "f": {"request": 2}})
    heard = _heard_from(_OtherServer(newer, [mood, telepathy, mood, running]))
    notices = [m.message for m in heard if isinstance(m, Notice)]
    assert heard.count(StateChanged(State.TRAINING, State.IDLE)) == 3  # the link went on
    assert len(notices) == 3  # the versions, and each thing skipped once
    assert "the engine server runs inkloop 0.2.0, wire 0123abcd and this dock" in notices[0]
    assert "`inkloop --version` prints the mark to compare" in notices[0]
    assert "it sent 'StateChanged.mood'" in notices[1]
    assert "it sent 'Telepathy'" in notices[2]


def test_a_state_the_dock_lacks_skips_that_event():
    running = encode(StateChanged(State.TRAINING, State.IDLE))
    state = {"e": ["State", "dreaming"]}
    dreaming = _frame({"d": "StateChanged", "f": {"state": state, "previous": state}})
    heard = _heard_from(_OtherServer(OLD_GREETING, [dreaming, running]))
    assert heard[-1] == StateChanged(State.TRAINING, State.IDLE)
    (said,) = [m.message for m in heard if "it sent 'State.dreaming'" in getattr(m, "message", "")]
    assert "state shown here may be wrong until it next changes: Stop, then" in said


def test_a_setting_at_its_default_still_crosses_so_the_reader_runs_the_docks_value():
    fields = _header(encode(EngineSettings()))["f"]
    assert {"lr", "patch_size"} <= set(fields["train"]["f"])
    assert "decoder_channels" in fields["model"]["f"]
    assert decode(encode(EngineSettings())[LENGTH.size :]) == EngineSettings()


def test_a_changed_default_changes_the_wire_mark(monkeypatch):
    before = _versions._fingerprint()
    monkeypatch.setattr(TrainConfig.__dataclass_fields__["lr"], "default", 3e-4)
    assert _versions._fingerprint() != before


def _header_and_arrays(frame: bytes) -> tuple[dict, bytes]:
    (size,) = LENGTH.unpack_from(frame, LENGTH.size)
    start = 2 * LENGTH.size
    return json.loads(frame[start : start + size]), frame[start + size :]


def test_a_nested_value_the_dock_lacks_costs_the_field_not_the_event():
    update = c.UpdateLabels(1, (0, 0, 2, 3), np.ones((2, 3), np.uint8), np.ones((2, 3), bool))
    header, arrays = _header_and_arrays(encode(update))
    grid = zlib.compress(np.arange(4, dtype=np.int32).tobytes())  # its bytes come first
    spec = {"dtype": "int32", "shape": [4], "size": len(grid), "as": None}
    future = {"d": "WarmRestarts", "f": {"grid": {"a": spec}}}
    header["f"] = {"future": future, **header["f"]}
    built = encode(ModelBuilt("tu-test_resnet", Composition()))
    built_header, _ = _header_and_arrays(built)
    built_header["f"]["train"] = future | {"f": {}}
    dropped: list[str] = []
    read = decode(_frame(header, grid + arrays)[LENGTH.size :], dropped)
    assert read.bbox == update.bbox  # and the arrays after the one skipped are its own:
    assert read.ink.all()
    assert read.supervised.all()
    assert decode(_frame(built_header)[LENGTH.size :], dropped).train is None
    assert dropped == ["WarmRestarts", "WarmRestarts"]


def test_a_command_with_a_nested_value_the_server_lacks_is_answered_by_its_request():
    header, _ = _header_and_arrays(encode(c.PredictSegment(7, Path("o.zarr"))))
    header["f"]["out"] = {"d": "WarmRestarts", "f": {}}
    with pytest.raises(UnknownMessageError) as refused:
        decode(_frame(header)[LENGTH.size :])
    assert (refused.value.what, refused.value.request) == ("WarmRestarts", 7)
