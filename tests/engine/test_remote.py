"""The engine on an engine server (a real one on 127.0.0.1): the loop as it runs locally,
and a wrong token, an oversized frame, garbage bytes, a path outside the served folders and
a connection dropped mid-stream each refused or survived."""

from __future__ import annotations

import logging
import socket
import struct
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
from inkloop.engine._wire import Hello, encode
from tests._engine import folder_labels, process_settings
from tests._events import TIMEOUT, Recorder, of_kind, state_reached, steps_done

TOKEN = "correct horse battery staple"
WHOLE = (0, 0, 96, 128)


@pytest.fixture(scope="module")
def server(training_folder, tmp_path_factory):
    served = EngineServer(
        [training_folder.parent], TOKEN, tmp_path_factory.mktemp("sessions"), port=0
    )
    thread = threading.Thread(target=served.serve_forever, daemon=True)
    thread.start()
    yield served
    served.close()
    thread.join(TIMEOUT)


def _address(server) -> str:
    host, port = server.address
    return f"{host}:{port}"


def _remote(server, folder, recorder, token=TOKEN):
    ink, supervised = folder_labels(folder)
    return RemoteEngineProcess(
        _address(server), token, folder, ink, supervised, process_settings(), recorder
    )


@pytest.mark.slow
def test_the_loop_runs_on_the_server_as_it_does_here(server, training_folder, tmp_path):
    recorder = Recorder()
    with _remote(server, training_folder, recorder) as proxy:
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


def _raw(server) -> socket.socket:
    sock = socket.create_connection(server.address, timeout=TIMEOUT)
    return sock


def _closed_by_server(sock: socket.socket) -> bool:
    """Whether the server closed ``sock`` (a reset, when our bytes were left unread)."""
    try:
        return sock.recv(1 << 16) == b""
    except ConnectionResetError:
        return True


def test_a_wrong_token_is_closed_and_logged(server, training_folder, caplog):
    with caplog.at_level(logging.WARNING, "inkloop.engine._server"), _raw(server) as sock:
        sock.sendall(encode(Hello("guess")))
        assert _closed_by_server(sock)
    assert "no valid token" in caplog.text
    with pytest.raises(RuntimeError, match="closed the connection before answering"):
        _remote(server, training_folder, Recorder(), token="guess")


@pytest.mark.parametrize(
    ("payload", "reason"),
    [
        (struct.pack(">I", 1 << 30), "over the 4096 limit"),  # an oversized frame
        (b"GET / HTTP/1.1\r\nHost: x\r\n\r\n", "over the 4096 limit"),  # garbage: a huge length
        (struct.pack(">I", 12) + b"\x00\x00\x00\x08not json", "malformed message"),
    ],
)
def test_bad_frames_close_that_connection_and_the_server_serves_on(server, caplog, payload, reason):
    with caplog.at_level(logging.WARNING, "inkloop.engine._server"), _raw(server) as sock:
        sock.sendall(payload)
        assert _closed_by_server(sock)
    assert reason in caplog.text
    with _raw(server) as sock:  # still serving
        sock.sendall(encode(Hello("guess")))
        assert _closed_by_server(sock)


def test_a_model_from_home_or_an_engine_too_many_is_refused(
    server, training_folder, tmp_path, monkeypatch
):
    import dataclasses

    from inkloop.engine import _server
    from inkloop.engine._wire import Spawn, read_frame, socket_reader

    monkeypatch.chdir(training_folder.parent)  # where "~/model.pt" would lie, unexpanded
    monkeypatch.setenv("HOME", str(tmp_path))  # and where it leads: outside the served folders
    settings = dataclasses.replace(process_settings(), init="~/model.pt")
    ink, supervised = folder_labels(training_folder)
    spawn = Spawn(str(training_folder), {}, settings, ink, supervised, 1)
    with _raw(server) as sock:
        sock.sendall(encode(Hello(TOKEN)) + encode(spawn))
        answer = read_frame(socket_reader(sock))
    assert answer.message == "~/model.pt is not under the folders this server serves"

    monkeypatch.setattr(_server, "MAX_SESSIONS", len(server.sessions))  # and one engine more
    with _raw(server) as sock:
        sock.sendall(
            encode(Hello(TOKEN)) + encode(dataclasses.replace(spawn, settings=process_settings()))
        )
        answer = read_frame(socket_reader(sock))
    assert answer.message == f"the server runs {len(server.sessions)} engines already, its most"


def test_too_many_strangers_at_once_are_closed_and_the_server_serves_on(
    training_folder, tmp_path, monkeypatch, caplog
):
    from inkloop.engine import _server

    monkeypatch.setattr(_server, "MAX_GREETING", 2)
    served = EngineServer([training_folder.parent], TOKEN, tmp_path, port=0)
    threading.Thread(target=served.serve_forever, daemon=True).start()
    server_log, left = logging.getLogger("inkloop.engine._server"), _Heard("connection closed", 2)
    server_log.addHandler(left)
    try:
        with caplog.at_level(logging.WARNING, "inkloop.engine._server"):
            first, second = _raw(served), _raw(served)  # silent: they hold their places
            with _raw(served) as third:
                assert _closed_by_server(third)
            assert "2 others authenticating" in caplog.text
            first.close(), second.close()
            assert left.wait(TIMEOUT)  # the server saw them go
            with _raw(served) as sock:  # their places free again: heard, then refused
                sock.sendall(encode(Hello("guess")))
                assert _closed_by_server(sock)
        assert "no valid token" in caplog.text
    finally:
        server_log.removeHandler(left)
        served.close()


@pytest.mark.slow
def test_a_session_left_with_no_client_and_no_work_ends_its_engine(training_folder, tmp_path):
    served = EngineServer([training_folder.parent], TOKEN, tmp_path, port=0, idle_timeout=1.0)
    threading.Thread(target=served.serve_forever, daemon=True).start()
    server_log, reaped = logging.getLogger("inkloop.engine._server"), _Heard("no client", 1)
    server_log.addHandler(reaped)
    try:
        kept_events, left_events = Recorder(), Recorder()
        with _remote(served, training_folder, kept_events) as kept:
            left = _remote(served, training_folder, left_events)
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


class _Heard(logging.Handler):
    """Set once the server has logged ``text`` ``times`` times."""

    def __init__(self, text: str, times: int) -> None:
        super().__init__()
        self.text, self.left, self.done = text, times, threading.Event()

    def emit(self, record) -> None:
        if self.text in record.getMessage():
            self.left -= 1
            if self.left <= 0:
                self.done.set()

    def wait(self, timeout: float) -> bool:
        return self.done.wait(timeout)


def test_a_segment_outside_the_served_folders_is_refused(server, tmp_path):
    from inkloop.synthetic import write_segment

    outside = write_segment(tmp_path / "elsewhere", 32, 32, 8, seed=1)
    with pytest.raises(RuntimeError, match="is not under the folders this server serves"):
        _remote(server, outside, Recorder())


@pytest.mark.slow
def test_a_model_beside_the_segment_is_found_where_the_server_mounts_it(
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
    with RemoteEngineProcess(
        _address(server), TOKEN, laptop / training_folder.name, ink, supervised, settings,
        recorder, path_map=(str(laptop), str(training_folder.parent)),
    ) as proxy:  # fmt: skip
        # unmapped, the server would refuse laptop/…: not under the folders it serves
        recorder.wait_for(lambda events: of_kind(Ready, events))
        assert proxy.session in server.sessions
        assert not of_kind(Failed, recorder.events)  # the model was read there
    model.unlink()  # the served folder is shared with the other tests


@pytest.mark.slow
def test_a_dropped_connection_stops_the_preview_not_the_training(server, training_folder):
    recorder = Recorder()
    with _remote(server, training_folder, recorder) as proxy:
        proxy.start()
        recorder.wait_for(steps_done(1))
        session = proxy.session
        proxy._child.events.sock.shutdown(socket.SHUT_RDWR)  # the network goes away

        recorder.wait_for(state_reached(State.FAILED))
        (failed,) = recorder.of(Failed)
        assert "lost the connection to the engine server" in failed.message
        assert "training goes on there" in failed.message
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
