"""Strangers' connections closed before the handshake do not flood the engine server's log
(`_refusal_log`), a real server on 127.0.0.1: a few are logged one by one, the rest counted
in one line as their window ends (or the server closes); a client past the handshake is still
logged in full."""

from __future__ import annotations

import logging
import struct

from inkloop.engine import _refusal_log
from inkloop.engine._wire import Attach, encode, read_frame, socket_reader
from tests._engine import Heard, closed_by_server, past_handshake, raw_socket
from tests._events import TIMEOUT

SERVER_LOG = "inkloop.engine._server"
FLOOD = 40
OVERSIZED = struct.pack(">I", 5000)  # a frame's length over the handshake's 4096 bytes


def _refused(server) -> None:
    """A stranger's connection, closed by the server (and so logged or counted) on return."""
    with raw_socket(server) as sock:
        sock.sendall(OVERSIZED)
        read = socket_reader(sock)
        read_frame(read), read_frame(read)  # its greeting, sent before a byte is read
        assert closed_by_server(sock)


def test_a_flood_of_strangers_logs_a_few_lines_and_then_a_count(served, caplog):
    server, thread = served
    thread.start()
    with caplog.at_level(logging.WARNING, SERVER_LOG):
        for _ in range(FLOOD):
            _refused(server)
        one_by_one = [r.getMessage() for r in caplog.records if " closed: " in r.getMessage()]
        assert len(one_by_one) == _refusal_log.IN_FULL
        assert all(
            line.endswith("closed: frame of 5000 bytes is over the 4096 limit")
            for line in one_by_one
        )
        with past_handshake(server.address) as sock:  # a client: its refusal is said in full
            sock.sendall(encode(Attach("nosuchsession")))
            read_frame(socket_reader(sock))
        assert "refused: no session nosuchsession here" in caplog.text
        server.close()  # what is counted is said as it closes
        thread.join(TIMEOUT)
    count = caplog.records[-1].getMessage()
    assert count.startswith(f"engine server: and {FLOOD - _refusal_log.IN_FULL} more connections")
    assert count.endswith("frame of 5000 bytes is over the 4096 limit (30); from 127.0.0.1 (30)")


def test_the_count_is_logged_as_its_window_ends(served, monkeypatch):
    server, thread = served
    monkeypatch.setattr(_refusal_log, "IN_FULL", 1)
    monkeypatch.setattr(_refusal_log, "WINDOW", 0.5)
    counted = Heard("more connections since", 1)
    logging.getLogger(SERVER_LOG).addHandler(counted)
    thread.start()
    try:
        for _ in range(FLOOD):  # two within one window: one logged, one counted
            if counted.done.is_set():
                break
            _refused(server)
        assert counted.wait(TIMEOUT)  # with no more connections to make it
    finally:
        logging.getLogger(SERVER_LOG).removeHandler(counted)
