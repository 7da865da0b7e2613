"""What an engine server's session writes (checkpoints, whole-segment predictions, autosaves)
is its owner's alone, as its token file is: on a shared GPU box, other accounts may not read
models trained on the scroll data, nor predictions that may show unpublished text."""

from __future__ import annotations

import os

import pytest

from inkloop.engine._wire import Spawn, encode, read_frame, socket_reader
from tests._engine import folder_labels, past_handshake, process_settings


@pytest.mark.slow  # a session spawns its engine
@pytest.mark.skipif(os.name != "posix", reason="no such modes on Windows")
def test_a_sessions_folder_is_its_owners_alone(server, training_folder):
    spawn = Spawn(str(training_folder), {}, process_settings(), *folder_labels(training_folder), 1)
    umask = os.umask(0o022)  # the usual one, whatever this run was started with
    try:
        with past_handshake(server.address) as sock:
            sock.sendall(encode(spawn))
            session = server.sessions[read_frame(socket_reader(sock)).session]
    finally:
        os.umask(umask)
    try:
        assert session.folder.stat().st_mode & 0o777 == 0o700
    finally:
        session.end()
