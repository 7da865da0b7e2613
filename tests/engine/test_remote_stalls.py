"""A dock's link to its engine server stalling (an SSH tunnel whose far side is gone), on real
sockets on 127.0.0.1: a server silent once the handshake is done is said to be stalled within
a bounded wait."""

from __future__ import annotations

import contextlib
import socket
import threading

from inkloop.engine import _remote
from inkloop.engine._server import EngineServer
from tests._engine import TOKEN, remote_engine
from tests._events import Recorder

# How long the test waits for a dock that gives up on a silent server (it should after the
# 0.5 s the test sets); a dock that waits for ever fails here, not after the suite's TIMEOUT.
GIVE_UP_S = 10.0


class _MuteAfterHandshake(EngineServer):
    """A server that proves itself, then reads nothing more until ``answer`` is set: the
    tunnel stalled in the instant after the handshake."""

    def __init__(self, *args, **kw) -> None:
        super().__init__(*args, **kw)
        self.answer = threading.Event()

    def _handle(self, sock: socket.socket, peer: str) -> None:
        self.answer.wait()
        super()._handle(sock, peer)


def test_a_server_silent_after_the_handshake_is_said_to_be_stalled(
    training_folder, tmp_path, monkeypatch
):
    monkeypatch.setattr(_remote, "WELCOME_TIMEOUT", 0.5)
    served = _MuteAfterHandshake([training_folder.parent], TOKEN, tmp_path, port=0)
    threading.Thread(target=served.serve_forever, daemon=True).start()
    errors: list[Exception] = []

    def connect() -> None:
        try:
            remote_engine(served, training_folder, Recorder()).close()
        except RuntimeError as error:
            errors.append(error)

    with contextlib.closing(served):
        dock = threading.Thread(target=connect, daemon=True)
        dock.start()
        dock.join(GIVE_UP_S)
        gave_up = not dock.is_alive()
        served.answer.set()
    assert gave_up, "the dock still waits for the server's Welcome"
    host, port = served.address
    assert str(errors[0]) == (
        f"nothing came back from the engine server {host}:{port} within 0.5 s: the network "
        "or the SSH tunnel may be stalled (check that ssh is still connected)"
    )
