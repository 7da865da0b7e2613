"""A client that gave up on its Spawn before the Welcome (a real server on 127.0.0.1): the
new session, which nobody could ever drive, ends at once with its engine, not after
``--idle-hours``."""

from __future__ import annotations

import contextlib
import logging
import threading

from inkloop.engine._server import EngineServer
from inkloop.engine._wire import Spawn, encode
from tests._engine import TOKEN, folder_labels, past_handshake, process_settings
from tests._events import TIMEOUT

SERVER_LOG = "inkloop.engine._server"


class _GatedServer(EngineServer):
    """Starts an engine only once ``gone`` is set (its client has left by then), and keeps
    the sessions it made."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.gone, self.made = threading.Event(), []

    def _start(self, spawn):
        assert self.gone.wait(TIMEOUT)
        self.made.append(super()._start(spawn))
        return self.made[-1]


class _Outcome(logging.Handler):
    """Set once the server logs what became of the client: let go, or its relay ended."""

    def __init__(self) -> None:
        super().__init__()
        self.said, self.done = "", threading.Event()

    def emit(self, record) -> None:
        message = record.getMessage()
        if " closed: " in message or " left session " in message:
            self.said = message
            self.done.set()


def test_a_session_whose_client_left_before_its_welcome_ends_at_once(training_folder, tmp_path):
    served = _GatedServer([training_folder.parent], TOKEN, tmp_path, port=0)
    threading.Thread(target=served.serve_forever, daemon=True).start()
    outcome, server_log = _Outcome(), logging.getLogger(SERVER_LOG)
    server_log.addHandler(outcome)
    with contextlib.closing(served), contextlib.ExitStack() as cleanup:
        cleanup.callback(server_log.removeHandler, outcome)
        ink, supervised = folder_labels(training_folder)
        with past_handshake(served.address) as client:
            client.sendall(
                encode(Spawn(str(training_folder), {}, process_settings(), ink, supervised, 1))
            )
        served.gone.set()  # closed: it gave up waiting
        assert outcome.done.wait(TIMEOUT)
        assert "hung up before it was welcomed" in outcome.said
        (session,) = served.made
        assert session.id not in served.sessions
        assert not session.child.process.is_alive()
