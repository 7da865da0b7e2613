"""A Stop asked on the GUI thread while the reader thread clears the Pause the server showed
taken is kept for a re-attach to send again (a real server on 127.0.0.1, real threads)."""

from __future__ import annotations

import threading

from inkloop.engine import State, StateChanged, _commands, _remote
from tests._engine import remote_engine
from tests._events import TIMEOUT, Recorder


def test_a_stop_asked_as_the_pause_is_heard_taken_is_kept(training_folder, server, monkeypatch):
    engine = remote_engine(server, training_folder, Recorder())
    taken = _remote._taken

    def stop_meanwhile(asked, state) -> bool:
        """The Stop clicked between the reader's look at the Pause and its clear."""
        stop = threading.Thread(target=engine.stop)
        stop.start()
        stop.join(TIMEOUT)
        return taken(asked, state)

    try:
        engine.pause()
        monkeypatch.setattr(_remote, "_taken", stop_meanwhile)
        engine._receive(engine._child, StateChanged(State.PAUSED, State.TRAINING))

        assert isinstance(engine._run_asked, _commands.Stop)
    finally:
        engine.close()
