"""The engine server greets every connection yet to prove it knows the token on one thread
(`_greetings`), a real server on 127.0.0.1: a flood of silent connections during a dock's
handshake does not knock it off, with every place taken the oldest is let go for a newcomer,
a silent one is closed at its deadline, and the places follow the file descriptors."""

from __future__ import annotations

import contextlib
import logging
import threading

import pytest

from inkloop.engine import _greetings
from inkloop.engine._remote import parse_address
from inkloop.engine._wire import Attach, encode, read_frame, socket_reader
from tests._engine import Forwarder, closed_by_server, past_handshake, raw_socket
from tests._events import TIMEOUT

SERVER_LOG = "inkloop.engine._server"
FLOOD = 128  # silent connections during one handshake: twice the places a server once had
CLOSED_WITHIN_S = 10.0  # a deadline of 0.2 s, however loaded the machine: not a minute later


def _greeted(sock) -> None:
    """Read the server's greeting on ``sock``: it has been accepted and waits in its place."""
    read = socket_reader(sock)
    read_frame(read), read_frame(read)


def _served_past_the_handshake(sock) -> None:
    sock.sendall(encode(Attach("nosuchsession")))
    assert read_frame(socket_reader(sock)).message.startswith("no session nosuchsession")


def test_a_flood_during_a_docks_handshake_does_not_knock_it_off(served):
    server, thread = served
    thread.start()
    tunnel = Forwarder(server.address)
    tunnel.hold()  # the dock's answer waits on its way: a round trip as long as the flood
    docked = {}

    def dock() -> None:
        try:
            docked["sock"] = past_handshake(parse_address(tunnel.address))
        except RuntimeError as error:
            docked["error"] = error

    knocking = threading.Thread(target=dock)
    with contextlib.ExitStack() as opened:
        opened.callback(tunnel.close)
        knocking.start()
        assert tunnel.holding.wait(TIMEOUT)  # greeted, and its answer is on its way
        for _ in range(FLOOD):  # a stranger's silent connections, each in its place
            _greeted(opened.enter_context(raw_socket(server)))
        tunnel.release()
        knocking.join(TIMEOUT)
        assert "error" not in docked, docked["error"]
        with docked["sock"] as sock:
            _served_past_the_handshake(sock)


def test_with_every_place_taken_a_newcomer_lets_the_oldest_go(served, caplog):
    server, thread = served
    server.greeter.places = 4
    thread.start()
    with contextlib.ExitStack() as opened, caplog.at_level(logging.WARNING, SERVER_LOG):
        strangers = [opened.enter_context(raw_socket(server)) for _ in range(4)]
        for stranger in strangers:
            _greeted(stranger)
        with past_handshake(server.address) as dock:  # places all taken: still gets in
            _served_past_the_handshake(dock)
        assert closed_by_server(strangers[0])
    assert "closed: let go: the oldest of 4 yet to answer at once" in caplog.text
    assert caplog.text.count("let go") == 1


def test_a_connection_silent_past_its_deadline_is_closed(served, monkeypatch, caplog):
    server, thread = served
    monkeypatch.setattr(_greetings, "ANSWER_TIMEOUT", 0.2)
    thread.start()
    with caplog.at_level(logging.WARNING, SERVER_LOG), raw_socket(server) as silent:
        _greeted(silent)
        silent.settimeout(CLOSED_WITHIN_S)
        assert closed_by_server(silent)
    assert "closed: too slow" in caplog.text


def test_the_places_are_half_the_file_descriptors_raised_towards_the_hard_limit(monkeypatch):
    resource = pytest.importorskip("resource")
    limits = {"now": (1024, 500_000)}  # a common default
    monkeypatch.setattr(resource, "getrlimit", lambda _: limits["now"])
    monkeypatch.setattr(resource, "setrlimit", lambda _, value: limits.update(now=value))
    assert _greetings.greeting_places() == _greetings.FD_CEILING // 2
    assert limits["now"] == (_greetings.FD_CEILING, 500_000)
    limits["now"] = (1024, 1024)  # nothing to raise: half of what there is
    assert _greetings.greeting_places() == 512
    assert limits["now"] == (1024, 1024)
