"""The engine server's handshake (`_handshake`), on real sockets on 127.0.0.1: a dock tells
an impostor on the port nothing (not the token, not a label) and says what it met (nothing
behind a tunnel, a silent server), a recorded answer does not open a second connection, and a
dock from before the handshake is told to upgrade."""

from __future__ import annotations

import contextlib
import io
import json
import logging
import re
import socket
import struct
import threading

import pytest

from inkloop.engine import _sockets
from inkloop.engine._handshake import FOR_OLDER_DOCKS, Answer, Challenge, Proof, new_challenge
from inkloop.engine._remote import RemoteEngineProcess
from inkloop.engine._wire import Refused, encode, read_frame
from tests._engine import (
    TOKEN,
    Forwarder,
    folder_labels,
    frames_to_the_end,
    process_settings,
    raw_socket,
)
from tests._events import Recorder

# How long an impostor waits for the dock's next bytes or its hang-up: the dock gives each
# handshake step CONNECT_TIMEOUT (0.5 s in these tests) and hangs up as it refuses, so this
# only ends the wait on a dock that wrongly goes on (the suite's TIMEOUT would take 120 s).
HANG_UP_S = 10.0


class _Listener:
    """A socket on 127.0.0.1 that takes one connection, does ``act(sock, heard)`` and then
    records (in ``heard``) all it is sent until the other side closes (``done``)."""

    def __init__(self, act) -> None:
        self._act, self.heard, self.done = act, bytearray(), threading.Event()
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.address = "{}:{}".format(*self._listener.getsockname()[:2])
        threading.Thread(target=self._serve, daemon=True).start()

    def close(self) -> None:
        self._listener.close()

    def _serve(self) -> None:
        sock, _ = self._listener.accept()
        with sock, contextlib.suppress(OSError):
            sock.settimeout(HANG_UP_S)
            self._act(sock, self.heard)
            while data := sock.recv(1 << 16):
                self.heard += data
        self.done.set()


def _hangs_up(sock, heard) -> None:  # an SSH tunnel with nothing listening at its far end
    sock.shutdown(socket.SHUT_WR)


def _says_nothing(sock, heard) -> None:  # a stalled tunnel, or a server from before the handshake
    pass  # it waits for a Hello, which this dock never sends


def _greets(sock, version=2) -> None:
    challenge, _ = new_challenge()
    challenge = Challenge(version, challenge.nonce)
    sock.sendall(encode(Refused(FOR_OLDER_DOCKS)) + encode(challenge))


def _proves_wrongly(sock, heard) -> None:  # knows the protocol, not the token
    _greets(sock)
    (length,) = struct.unpack(">I", sock.recv(4, socket.MSG_WAITALL))
    heard += struct.pack(">I", length) + sock.recv(length, socket.MSG_WAITALL)
    sock.sendall(encode(Proof("00" * 32)))


def _reflects(sock, heard) -> None:  # sends the dock's own proof back as its Proof
    _greets(sock)
    (length,) = struct.unpack(">I", sock.recv(4, socket.MSG_WAITALL))
    frame = struct.pack(">I", length) + sock.recv(length, socket.MSG_WAITALL)
    heard += frame
    sock.sendall(encode(Proof(read_frame(io.BytesIO(frame).read).proof)))


def _speaks_a_newer_handshake(sock, heard) -> None:
    _greets(sock, version=3)


@pytest.mark.parametrize(
    ("act", "said"),
    [
        (
            _hangs_up,
            "nothing answered behind 127.0.0.1:{port} (it hung up before any "
            "greeting): is `inkloop engine serve` running there? (an SSH tunnel accepts",
        ),
        (
            _says_nothing,
            "nothing came back from the engine server 127.0.0.1:{port} within 0.5 s: the "
            "network or the SSH tunnel may be stalled (check that ssh is still connected); a "
            "server older than this dock, or something that is not an inkloop engine server, "
            "also stays silent",
        ),
        (_proves_wrongly, "did not prove it knows the token (its proof is wrong): a wrong token"),
        (_reflects, "did not prove it knows the token (its proof is wrong): a wrong token"),
        (_speaks_a_newer_handshake, "speaks handshake 3 and this inkloop 2: install the same"),
    ],
)
def test_a_dock_tells_an_impostor_nothing(training_folder, monkeypatch, act, said):
    monkeypatch.setattr(_sockets, "CONNECT_TIMEOUT", 0.5)  # for the one that says nothing
    impostor = _Listener(act)
    said = said.format(port=impostor.address.rpartition(":")[2])
    ink, supervised = folder_labels(training_folder)
    settings = process_settings()
    try:
        with pytest.raises(RuntimeError, match=re.escape(said)):
            RemoteEngineProcess(
                impostor.address, TOKEN, training_folder, ink, supervised, settings, Recorder()
            )
        assert impostor.done.wait(HANG_UP_S)  # the dock hung up
    finally:
        impostor.close()
    heard = bytes(impostor.heard)
    assert TOKEN.encode() not in heard
    if act in (_proves_wrongly, _reflects):  # its answer, then nothing: no Spawn, no labels
        answer = read_frame(io.BytesIO(heard).read)
        assert isinstance(answer, Answer)
        assert len(heard) == len(encode(answer))
    else:
        assert heard == b""


def test_what_a_dock_sent_once_does_not_open_a_second_connection(server, tmp_path, caplog):
    from inkloop.synthetic import write_segment

    outside = write_segment(tmp_path / "elsewhere", 32, 32, 8, seed=1)
    ink, supervised = folder_labels(outside)
    recording = Forwarder(server.address, record=True)
    try:  # refused once past the handshake, before an engine starts
        with pytest.raises(RuntimeError, match="is not under the folders this server serves"):
            RemoteEngineProcess(
                recording.address, TOKEN, outside, ink, supervised, process_settings(),
                Recorder(),
            )  # fmt: skip
    finally:
        recording.close()
    with caplog.at_level(logging.WARNING, "inkloop.engine._server"), raw_socket(server) as sock:
        sock.sendall(bytes(recording.sent))  # replayed, word for word
        answers = frames_to_the_end(sock)
    assert not any("not under the folders" in getattr(a, "message", "") for a in answers)
    assert "closed: no valid token" in caplog.text


def test_a_dock_from_before_the_handshake_is_told_to_upgrade(server, caplog):
    header = json.dumps({"d": "Hello", "f": {"token": TOKEN, "session": None}}).encode()
    payload = struct.pack(">I", len(header)) + header
    spawn = struct.pack(">I", 1000) + bytes(1000)  # what such a dock sends next, unread
    with caplog.at_level(logging.WARNING, "inkloop.engine._server"), raw_socket(server) as sock:
        sock.sendall(struct.pack(">I", len(payload)) + payload + spawn)
        # all such a dock reads; to the end here, for the server logs before it hangs up
        assert frames_to_the_end(sock)[0].message.startswith(FOR_OLDER_DOCKS)
    assert "'Hello' is not a message type" in caplog.text
    assert TOKEN not in caplog.text
