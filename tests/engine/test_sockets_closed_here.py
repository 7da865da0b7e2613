"""A dock's connection closed on its own side while it waits for the server (the deadline of
closing a session left running) says that no answer came, not a bad file descriptor."""

from __future__ import annotations

import logging
import socket

from inkloop.engine import _remote_ends
from inkloop.engine._remote_ends import close_left_session
from tests._engine import TOKEN


def test_closing_a_left_session_behind_a_silent_tunnel_says_no_answer_came(monkeypatch, caplog):
    monkeypatch.setattr(_remote_ends, "CLOSE_LEFT_TIMEOUT", 0.2)
    silent = socket.create_server(("127.0.0.1", 0))  # accepts (its backlog), says nothing
    with silent, caplog.at_level(logging.WARNING, "inkloop.engine._remote_ends"):
        close_left_session(silent.getsockname()[:2], TOKEN, "921d9c191d974665")
    said = "session 921d9c191d974665 left running: no answer from the engine server"
    assert said in caplog.text
    assert "Bad file descriptor" not in caplog.text
