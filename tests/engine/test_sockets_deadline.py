"""`SocketConnection`'s reads with a deadline (`authenticate`, `recv_within`) put the
socket's own timeout back, whether they succeed or fail: later reads wait as long as before."""

from __future__ import annotations

import socket

import pytest

from inkloop.engine._sockets import SocketConnection
from inkloop.engine._wire import Attach, encode


@pytest.fixture
def linked():
    """A `SocketConnection` and the far end of its link, over 127.0.0.1."""
    with socket.create_server(("127.0.0.1", 0)) as listener:
        near = socket.create_connection(listener.getsockname())
        far, _ = listener.accept()
    with near, far:
        yield SocketConnection(near), far


def test_a_failed_authenticate_puts_the_timeout_back(linked):
    connection, far = linked
    far.close()  # hangs up before any greeting
    with pytest.raises(RuntimeError, match="hung up before any greeting"):
        connection.authenticate("token")
    assert connection.sock.gettimeout() is None


def test_recv_within_puts_the_timeout_back(linked):
    connection, far = linked
    far.sendall(encode(Attach("session")))
    assert connection.recv_within(10.0) == Attach("session")
    assert connection.sock.gettimeout() is None
