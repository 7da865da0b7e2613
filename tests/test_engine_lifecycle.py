"""An in-process Engine in a script or notebook: a failure nobody listens for is still said."""

from __future__ import annotations

import logging

from inkloop.engine import CheckpointSaved, Failed
from inkloop.engine._surface import Announcer
from tests._engine import engine_for
from tests._events import TIMEOUT, Recorder


def test_a_failed_save_that_no_listener_hears_is_logged_as_a_warning(segment, caplog):
    refused = segment.path / f"{segment.name}_mask.png"  # the user's error: said at INFO
    heard = Recorder()
    with caplog.at_level(logging.INFO, logger="inkloop.engine"):
        for engine in (engine_for(segment, heard), engine_for(segment, None)):
            engine.save(refused)  # a file the session reads: refused, a Failed
            assert engine.close(TIMEOUT)
    (failure,) = heard.of(Failed)
    assert not heard.of(CheckpointSaved)
    warned = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert warned == [f"inkloop engine: {failure.message}"]  # the unheard one only


def test_an_engine_process_logs_a_failure_no_listener_hears(caplog):
    announcer, heard = Announcer(), Recorder()  # what an EngineProcess tells its listeners with
    with caplog.at_level(logging.WARNING, logger="inkloop.engine"):
        announcer.emit(Failed("a region off the image", request=3))
        announcer.listeners.append(heard)
        announcer.emit(Failed("heard by its listener"))
    assert [r.getMessage() for r in caplog.records] == [
        "inkloop engine: request 3: a region off the image"
    ]
    assert [e.message for e in heard.of(Failed)] == ["heard by its listener"]
