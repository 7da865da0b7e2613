"""An engine server refuses a wrong token, an oversized frame, garbage bytes, a model from
outside the served folders, an engine too many and a segment outside them; it serves on.
(Its handshake: test_server_auth.py.)"""

from __future__ import annotations

import logging
import struct

import pytest

from inkloop.engine._handshake import Challenge
from inkloop.engine._wire import Attach, Refused, encode, read_frame, socket_reader
from tests._engine import (
    closed_by_server,
    folder_labels,
    past_handshake,
    process_settings,
    raw_socket,
    remote_engine,
)
from tests._events import Recorder


def test_a_wrong_token_is_closed_and_logged(server, training_folder, caplog):
    with (
        caplog.at_level(logging.WARNING, "inkloop.engine._server"),
        pytest.raises(RuntimeError, match=r"did not prove it knows the token \(it hung up\)"),
    ):
        past_handshake(server.address, "guess")
    assert "no valid token" in caplog.text
    with pytest.raises(RuntimeError, match="a wrong token, the server turning connections away"):
        remote_engine(server, training_folder, Recorder(), token="guess")


@pytest.mark.parametrize(
    ("payload", "reason"),
    [
        (struct.pack(">I", 1 << 30), "over the 4096 limit"),  # an oversized frame
        (b"GET / HTTP/1.1\r\nHost: x\r\n\r\n", "over the 4096 limit"),  # garbage: a huge length
        (struct.pack(">I", 12) + b"\x00\x00\x00\x08not json", "malformed message"),
    ],
)
def test_bad_frames_close_that_connection_and_the_server_serves_on(server, caplog, payload, reason):
    with caplog.at_level(logging.WARNING, "inkloop.engine._server"), raw_socket(server) as sock:
        sock.sendall(payload)
        read = socket_reader(sock)
        assert isinstance(read_frame(read), Refused)  # the greeting, sent before a byte is read
        assert isinstance(read_frame(read), Challenge)
        assert closed_by_server(sock)  # and no more
    assert reason in caplog.text
    with past_handshake(server.address) as sock:  # still serving
        sock.sendall(encode(Attach("nosuchsession")))
        assert read_frame(socket_reader(sock)).message.startswith("no session nosuchsession")


def test_a_model_from_home_or_an_engine_too_many_is_refused(
    server, training_folder, tmp_path, monkeypatch
):
    import dataclasses

    from inkloop.engine._wire import Spawn

    monkeypatch.chdir(training_folder.parent)  # where "~/model.pt" would lie, unexpanded
    monkeypatch.setenv("HOME", str(tmp_path))  # and where it leads: outside the served folders
    settings = dataclasses.replace(process_settings(), init="~/model.pt")
    ink, supervised = folder_labels(training_folder)
    spawn = Spawn(str(training_folder), {}, settings, ink, supervised, 1)
    with past_handshake(server.address) as sock:
        sock.sendall(encode(spawn))
        answer = read_frame(socket_reader(sock))
    assert answer.message == "~/model.pt is not under the folders this server serves"

    monkeypatch.setattr(server, "max_sessions", len(server.sessions))  # and one engine more
    with past_handshake(server.address) as sock:
        sock.sendall(encode(dataclasses.replace(spawn, settings=process_settings())))
        answer = read_frame(socket_reader(sock))
    assert answer.message.startswith(f"the server runs {len(server.sessions)} engine")
    assert "already, its most" in answer.message


def test_a_segment_outside_the_served_folders_is_refused(server, tmp_path):
    from inkloop.synthetic import write_segment

    outside = write_segment(tmp_path / "elsewhere", 32, 32, 8, seed=1)
    with pytest.raises(RuntimeError, match="is not under the folders this server serves"):
        remote_engine(server, outside, Recorder())
