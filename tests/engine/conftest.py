"""The engine tests' shared fixtures: an engine server serving the training segment, and one
not yet started that serves nothing."""

from __future__ import annotations

import threading

import pytest

from inkloop.engine._server import EngineServer
from tests._engine import TOKEN, serving
from tests._events import TIMEOUT


@pytest.fixture(scope="module")
def server(training_folder, tmp_path_factory):
    """An engine server on 127.0.0.1 that serves the training segment's folder, asking for
    `TOKEN`."""
    sessions = tmp_path_factory.mktemp("sessions")
    yield from serving(EngineServer([training_folder.parent], TOKEN, sessions, port=0))


@pytest.fixture
def served(tmp_path):
    """A server (no segment to serve: for tests that stop at the handshake) and the thread to
    start it on."""
    server = EngineServer([tmp_path], TOKEN, tmp_path / "sessions", port=0)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    yield server, thread
    server.close()
    thread.join(TIMEOUT)
