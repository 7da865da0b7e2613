"""A segment opened from a URL cannot train on an engine server, which opens segments from its
own disks: a dock refuses it before it connects (the URL's login never crosses the wire), and a
server refuses one sent anyway, in a message and a log line without the login."""

from __future__ import annotations

import logging
import socket

import pytest

from inkloop.engine._remote import RemoteEngineProcess
from inkloop.engine._wire import Refused, Spawn, encode, read_frame, socket_reader
from tests._engine import TOKEN, folder_labels, past_handshake, process_settings
from tests._events import Recorder

SECRET = "s3cret-password"
URL = f"https://alice:{SECRET}@data.example/scrolls/seg.zarr"
SHOWN = "https://data.example/scrolls/seg.zarr"
WHAT_TO_DO = "an engine server opens segments from its own disks, not URLs"


def test_a_dock_refuses_a_url_segment_before_it_connects(training_folder):
    ink, supervised = folder_labels(training_folder)
    with socket.create_server(("127.0.0.1", 0)) as listener:  # never accepts: a server
        address = "{}:{}".format(*listener.getsockname()[:2])
        with pytest.raises(RuntimeError, match=WHAT_TO_DO) as error:
            RemoteEngineProcess(
                address, TOKEN, URL, ink, supervised, process_settings(), Recorder()
            )
        listener.setblocking(False)
        with pytest.raises(BlockingIOError):  # no connection waits to be accepted
            listener.accept()
    assert str(error.value).startswith(f"{SHOWN}: {WHAT_TO_DO}")
    assert SECRET not in str(error.value)


def test_a_server_refuses_a_url_segment_without_saying_its_login(server, training_folder, caplog):
    ink, supervised = folder_labels(training_folder)
    spawn = Spawn(URL, {}, process_settings(), ink, supervised, 1)
    with (
        caplog.at_level(logging.WARNING, "inkloop.engine._server"),
        past_handshake(server.address) as sock,
    ):
        sock.sendall(encode(spawn))
        answer = read_frame(socket_reader(sock))
    assert isinstance(answer, Refused)
    assert answer.message.startswith(f"{SHOWN}: {WHAT_TO_DO}")
    assert f"refused: {SHOWN}: {WHAT_TO_DO}" in caplog.text
    assert SECRET not in caplog.text + answer.message
