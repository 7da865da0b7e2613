"""The engine server's handshake (`_handshake`), on real sockets on 127.0.0.1: a dock tells
an impostor on the port nothing (not the token, not a label), a recorded answer does not open
a second connection, and a dock from before the handshake is told to upgrade."""

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

from inkloop.engine._handshake import FOR_OLDER_DOCKS, Answer, Challenge, Proof, new_challenge
from inkloop.engine._remote import RemoteEngineProcess
from inkloop.engine._wire import Refused, encode, read_frame, socket_reader
from tests._engine import TOKEN, folder_labels, process_settings, raw_socket
from tests._events import TIMEOUT, Recorder


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
            sock.settimeout(TIMEOUT)
            self._act(sock, self.heard)
            while data := sock.recv(1 << 16):
                self.heard += data
        self.done.set()


def _hangs_up(sock, heard) -> None:  # an engine server from before the handshake, say
    sock.shutdown(socket.SHUT_WR)


def _greets(sock, version=2) -> None:
    challenge, _ = new_challenge()
    challenge = Challenge(version, challenge.nonce)
    sock.sendall(encode(Refused(FOR_OLDER_DOCKS)) + encode(challenge))


def _proves_wrongly(sock, heard) -> None:  # knows the protocol, not the token
    _greets(sock)
    (length,) = struct.unpack(">I", sock.recv(4, socket.MSG_WAITALL))
    heard += struct.pack(">I", length) + sock.recv(length, socket.MSG_WAITALL)
    sock.sendall(encode(Proof("00" * 32)))


def _speaks_a_newer_handshake(sock, heard) -> None:
    _greets(sock, version=3)


@pytest.mark.parametrize(
    ("act", "said"),
    [
        (_hangs_up, "did not greet this dock (it hung up): an inkloop engine server older"),
        (_proves_wrongly, "did not prove it knows the token (its proof is wrong): a wrong token"),
        (_speaks_a_newer_handshake, "speaks handshake 3 and this inkloop 2: install the same"),
    ],
)
def test_a_dock_tells_an_impostor_nothing(training_folder, act, said):
    impostor = _Listener(act)
    ink, supervised = folder_labels(training_folder)
    settings = process_settings()
    try:
        with pytest.raises(RuntimeError, match=re.escape(said)):
            RemoteEngineProcess(
                impostor.address, TOKEN, training_folder, ink, supervised, settings, Recorder()
            )
        assert impostor.done.wait(TIMEOUT)  # the dock hung up
    finally:
        impostor.close()
    heard = bytes(impostor.heard)
    assert TOKEN.encode() not in heard
    if act is _proves_wrongly:  # its answer, and then nothing: no Spawn, no labels
        answer = read_frame(io.BytesIO(heard).read)
        assert isinstance(answer, Answer)
        assert len(heard) == len(encode(answer))
    else:
        assert heard == b""


class _Recording:
    """A forwarder to ``target`` that records what the dock sends through it."""

    def __init__(self, target) -> None:
        self.sent = bytearray()
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.address = "{}:{}".format(*self._listener.getsockname()[:2])
        self._target, self._sockets = target, [self._listener]
        threading.Thread(target=self._accept, daemon=True).start()

    def close(self) -> None:
        for sock in self._sockets:
            sock.close()

    def _accept(self) -> None:
        near, _ = self._listener.accept()
        far = socket.create_connection(self._target)
        self._sockets += [near, far]
        threading.Thread(target=self._pump, args=(far, near, None), daemon=True).start()
        self._pump(near, far, self.sent)

    @staticmethod
    def _pump(source, sink, record) -> None:
        with contextlib.suppress(OSError):
            while data := source.recv(1 << 16):
                if record is not None:
                    record += data  # before it goes on: recorded once the server answers
                sink.sendall(data)
            sink.shutdown(socket.SHUT_WR)


def test_what_a_dock_sent_once_does_not_open_a_second_connection(server, tmp_path, caplog):
    from inkloop.synthetic import write_segment

    outside = write_segment(tmp_path / "elsewhere", 32, 32, 8, seed=1)
    ink, supervised = folder_labels(outside)
    recording = _Recording(server.address)
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
        answers = _frames_to_the_end(sock)
    assert not any("not under the folders" in getattr(a, "message", "") for a in answers)
    assert "closed: no valid token" in caplog.text


def test_a_dock_from_before_the_handshake_is_told_to_upgrade(server, caplog):
    header = json.dumps({"d": "Hello", "f": {"token": TOKEN, "session": None}}).encode()
    payload = struct.pack(">I", len(header)) + header
    spawn = struct.pack(">I", 1000) + bytes(1000)  # what such a dock sends next, unread
    with caplog.at_level(logging.WARNING, "inkloop.engine._server"), raw_socket(server) as sock:
        sock.sendall(struct.pack(">I", len(payload)) + payload + spawn)
        assert read_frame(socket_reader(sock)) == Refused(FOR_OLDER_DOCKS)  # all it reads
    assert "'Hello' is not a message type" in caplog.text
    assert TOKEN not in caplog.text


def _frames_to_the_end(sock) -> list:
    """The messages the server sends on ``sock`` until it hangs up."""
    read, frames = socket_reader(sock), []
    with contextlib.suppress(EOFError, ConnectionResetError):
        while True:
            frames.append(read_frame(read))
    return frames
