"""The engine on an engine server (a real one on 127.0.0.1): the loop as it runs locally, a
model found through a path map and a checkpoint fetched before a close at once ends the
session, a connection dropped mid-stream survived, and a session left with no client ended.
(Strangers during a dock's handshake: test_server_greetings.py.)"""

from __future__ import annotations

import logging
import socket
import threading

import numpy as np
import pytest

from inkloop.checkpoint import load_checkpoint
from inkloop.engine import (
    CheckpointSaved,
    Failed,
    PredictionReady,
    Ready,
    State,
    StepDone,
)
from inkloop.engine._remote import RemoteEngineProcess
from inkloop.engine._server import EngineServer
from tests._engine import (
    TOKEN,
    WHOLE,
    Heard,
    folder_labels,
    process_settings,
    remote_engine,
    server_address,
)
from tests._events import TIMEOUT, Recorder, of_kind, state_reached, steps_done

SERVER_LOG = "inkloop.engine._server"


@pytest.mark.slow
def test_the_loop_runs_on_the_server_as_it_does_here(server, training_folder, tmp_path):
    recorder = Recorder()
    with remote_engine(server, training_folder, recorder) as proxy:
        recorder.wait_for(lambda events: of_kind(Ready, events))
        assert proxy.session in server.sessions
        proxy.start()
        steps = of_kind(StepDone, recorder.wait_for(steps_done(2)))
        seen = max(step.labels_version for step in steps)
        proxy.update_labels(
            np.full((16, 16), 255, np.uint8), np.ones((16, 16), bool), (8, 8, 24, 24)
        )
        recorder.wait_for(
            lambda events: any(e.labels_version > seen for e in of_kind(StepDone, events))
        )
        request = proxy.preview(WHOLE, every=0.0)
        tiles = recorder.wait_for(
            lambda events: any(
                e.request == request and e.tiles_done == e.tiles_total
                for e in of_kind(PredictionReady, events)
            )
        )
        tile = of_kind(PredictionReady, tiles)[0]
        assert tile.probability.dtype == np.float32
        assert 0 <= tile.probability.min() <= tile.probability.max() <= 1
        proxy.stop()
        assert proxy.wait(TIMEOUT)
        assert proxy.state is State.STOPPED
        proxy.save(tmp_path / "model.pt")
        recorder.wait_for(lambda events: of_kind(CheckpointSaved, events))
        saved = recorder.of(CheckpointSaved)[-1]  # previews may arrive after it
        assert saved.path == str(tmp_path / "model.pt")  # written there, fetched here
        server_copy = server.sessions[proxy.session].folder / "model.pt"
        assert load_checkpoint(saved.path).step == load_checkpoint(server_copy).step == saved.step
        with pytest.raises(RuntimeError, match="is not a file of this session"):
            proxy.fetch("/etc/passwd", tmp_path / "passwd")  # only the session's own files
        assert not (tmp_path / "passwd").exists()
    assert proxy.session not in server.sessions  # closing the proxy ended the session


@pytest.mark.slow
def test_a_session_left_with_no_client_ends_its_engine(training_folder, tmp_path):
    served = EngineServer([training_folder.parent], TOKEN, tmp_path, port=0, idle_timeout=1.0)
    threading.Thread(target=served.serve_forever, daemon=True).start()
    server_log, reaped = logging.getLogger(SERVER_LOG), Heard("no client", 1)
    server_log.addHandler(reaped)
    try:
        kept_events, left_events = Recorder(), Recorder()
        with remote_engine(served, training_folder, kept_events) as kept:
            left = remote_engine(served, training_folder, left_events)
            for recorder in (kept_events, left_events):
                recorder.wait_for(lambda events: of_kind(Ready, events))
            session = served.sessions[left.session]
            left._child.events.sock.shutdown(socket.SHUT_RDWR)  # its dock went away for good
            assert reaped.wait(TIMEOUT)
            assert left.session not in served.sessions
            session.child.process.join(TIMEOUT)
            assert not session.alive
            assert session.folder.is_dir()  # what it wrote stays
            # as silent for longer, but a dock drives it
            assert served.sessions[kept.session].alive
        left.close()
    finally:
        server_log.removeHandler(reaped)
        served.close()


@pytest.mark.slow
def test_a_model_found_where_the_server_mounts_it_and_saved_just_before_close_is_fetched(
    server, training_folder, tmp_path
):
    import dataclasses

    from inkloop.engine import EngineProcess

    model = training_folder.parent / "beside_the_segment.pt"
    recorder, ink, supervised = Recorder(), *folder_labels(training_folder)
    with EngineProcess(training_folder, ink, supervised, process_settings(), recorder) as here:
        here.save(model)
        recorder.wait_for(lambda events: of_kind(CheckpointSaved, events))
    laptop = tmp_path / "laptop"  # where this machine mounts the served folder
    settings = dataclasses.replace(process_settings(), init=laptop / model.name)
    recorder = Recorder()
    proxy = RemoteEngineProcess(
        server_address(server), TOKEN, laptop / training_folder.name, ink, supervised, settings,
        recorder, path_map=(str(laptop), str(training_folder.parent)),
    )  # fmt: skip
    try:
        # unmapped, the server would refuse laptop/…: not under the folders it serves
        recorder.wait_for(lambda events: of_kind(Ready, events))
        assert proxy.session in server.sessions
        assert not of_kind(Failed, recorder.events)  # the model was read there
        there = server.sessions[proxy.session].folder
        proxy.save(tmp_path / "fetched.pt")  # the segment is not here: nothing to refuse
    finally:
        proxy.close()  # at once: the copy is fetched before the session ends there
    assert proxy.join(TIMEOUT)
    fetched = tmp_path / "fetched.pt"
    assert fetched.read_bytes() == (there / "fetched.pt").read_bytes()
    load_checkpoint(fetched)  # whole: it loads
    model.unlink()  # the served folder is shared with the other tests


@pytest.mark.slow
def test_a_dropped_connection_stops_the_preview_not_the_training(server, training_folder):
    recorder = Recorder()
    with remote_engine(server, training_folder, recorder) as proxy:
        proxy.start()
        recorder.wait_for(steps_done(1))
        session = proxy.session
        with proxy._changed:  # a save whose answer the dropped link will never bring
            proxy._saving += 1
        proxy._child.events.sock.shutdown(socket.SHUT_RDWR)  # the network goes away

        recorder.wait_for(state_reached(State.FAILED))
        assert not proxy._saving  # close() would wait FETCH_TIMEOUT (300 s) for it
        (failed,) = recorder.of(Failed)
        assert "lost the connection to the engine server" in failed.message
        assert "training may go on there" in failed.message
        assert server.sessions[session].alive  # the engine trains on

        since = recorder.mark()
        request = proxy.preview(WHOLE, every=0.0)  # reconnects to the same session
        recorder.wait_for(
            lambda events: any(e.request == request for e in of_kind(PredictionReady, events)),
            since,
        )
        assert proxy.session == session
        later = recorder.wait_for(steps_done(1), since)
        first_steps = [e.step for e in of_kind(StepDone, recorder.events[:since])]
        assert min(e.step for e in of_kind(StepDone, later)) > max(first_steps)  # not restarted
        proxy.stop()
        assert proxy.wait(TIMEOUT)


def test_a_path_map_replaces_a_whole_folder_prefix_only():
    from inkloop.engine._remote import map_path

    pair = ("/laptop/scrolls/", "/data/scrolls")
    assert map_path("/laptop/scrolls/s1/seg.zarr", pair) == "/data/scrolls/s1/seg.zarr"
    assert map_path("/laptop/scrolls", pair) == "/data/scrolls"
    assert map_path("/laptop/scrolls2/seg", pair) == "/laptop/scrolls2/seg"  # another folder
    assert map_path("/laptop/scrolls/seg", None) == "/laptop/scrolls/seg"
