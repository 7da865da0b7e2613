"""An engine closed with a deadline whose worker is stuck (a read a server never finishes):
close says so in time instead of waiting for it, as an orphaned engine process must."""

from __future__ import annotations

import threading

import pytest

from tests._engine import engine_for
from tests._events import TIMEOUT, Recorder


def test_close_with_a_deadline_does_not_wait_for_a_stuck_worker(segment):
    engine = engine_for(segment, Recorder())
    entered, release = threading.Event(), threading.Event()

    def stuck() -> None:  # as a chunk read from a server that trickles on for ever
        entered.set()
        release.wait(TIMEOUT)

    engine._session.prepare = stuck
    engine.prepare()
    assert entered.wait(TIMEOUT)
    worker = engine._thread
    try:
        assert engine.close(timeout=0.05) is False
        assert engine.close(timeout=0.05) is False  # closed, still at work
        with pytest.raises(RuntimeError, match="closed"):
            engine.prepare()
    finally:
        release.set()
    worker.join(TIMEOUT)
    assert engine.close() is True  # its worker has ended
