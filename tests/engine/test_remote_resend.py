"""The Pause or Stop a dock sends again on re-attaching (one clicked into a stalled link may
be lost with it) is only one the server has not shown taken yet, on a real server on
127.0.0.1: once its state was heard, a later re-attach does not repeat it."""

from __future__ import annotations

import socket

import pytest

from inkloop.engine import State, _commands
from inkloop.engine._sockets import SocketConnection
from tests._engine import WHOLE, remote_engine
from tests._events import Recorder, state_reached, steps_done


@pytest.mark.slow
def test_a_pause_heard_taken_is_not_sent_again_on_reattaching(training_folder, server, monkeypatch):
    recorder = Recorder()
    engine = remote_engine(server, training_folder, recorder)
    try:
        engine.start()
        recorder.wait_for(steps_done(1))
        engine.pause()
        recorder.wait_for(state_reached(State.PAUSED))  # the server says it took the Pause
        engine._child.events.sock.shutdown(socket.SHUT_RDWR)  # then the link drops
        recorder.wait_for(state_reached(State.FAILED))
        sent: list[object] = []
        send = SocketConnection.send

        def recording(connection, message):
            sent.append(message)
            return send(connection, message)

        monkeypatch.setattr(SocketConnection, "send", recording)
        engine.predict(WHOLE)  # re-attaches

        assert not [m for m in sent if isinstance(m, (_commands.Pause, _commands.Stop))]
    finally:
        engine.close()
