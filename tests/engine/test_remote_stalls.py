"""A dock's link to its engine server stalling (an SSH tunnel whose far side is gone), on real
sockets on 127.0.0.1: a server silent once the handshake is done is said to be stalled within
a bounded wait; a link that falls silent while attached is told of once, well before it is let
go; a Pause clicked into it reaches the engine when the dock re-attaches."""

from __future__ import annotations

import contextlib
import re
import socket
import threading
import time

import numpy as np
import pytest

from inkloop.engine import Notice, State, _remote, _sockets
from inkloop.engine._server import EngineServer
from tests._engine import TOKEN, WHOLE, Forwarder, folder_labels, process_settings, remote_engine
from tests._events import Recorder, of_kind, state_reached, steps_done
from tests._helpers import TRAIN_SHAPE

# How long the test waits for a dock that gives up on a silent server (it should after the
# 0.5 s the test sets); a dock that waits for ever fails here, not after the suite's TIMEOUT.
GIVE_UP_S = 10.0


class _MuteAfterHandshake(EngineServer):
    """A server that proves itself, then reads nothing more until ``answer`` is set: the
    tunnel stalled in the instant after the handshake."""

    def __init__(self, *args, **kw) -> None:
        super().__init__(*args, **kw)
        self.answer = threading.Event()

    def _handle(self, sock: socket.socket, peer: str) -> None:
        self.answer.wait()
        super()._handle(sock, peer)


def test_a_server_silent_after_the_handshake_is_said_to_be_stalled(
    training_folder, tmp_path, monkeypatch
):
    monkeypatch.setattr(_remote, "WELCOME_TIMEOUT", 0.5)
    served = _MuteAfterHandshake([training_folder.parent], TOKEN, tmp_path, port=0)
    threading.Thread(target=served.serve_forever, daemon=True).start()
    errors: list[Exception] = []

    def connect() -> None:
        try:
            remote_engine(served, training_folder, Recorder()).close()
        except RuntimeError as error:
            errors.append(error)

    with contextlib.closing(served):
        dock = threading.Thread(target=connect, daemon=True)
        dock.start()
        dock.join(GIVE_UP_S)
        gave_up = not dock.is_alive()
        served.answer.set()
    assert gave_up, "the dock still waits for the server's Welcome"
    host, port = served.address
    # 0.5 s, and the time for the labels still in the buffers to go up at SLOWEST_UPLINK
    assert re.fullmatch(
        rf"nothing came back from the engine server {host}:{port} within 0\.[5-9] s: the "
        r"network or the SSH tunnel may be stalled \(check that ssh is still connected\)",
        str(errors[0]),
    )


class _SlowUplink(Forwarder):
    """A tunnel passing what the dock sends at about ``rate`` bytes/s, the server's at once."""

    def __init__(self, target, rate: int) -> None:
        self._chunk = max(1, rate // 10)
        super().__init__(target)

    def _pump(self, source: socket.socket, sink: socket.socket, from_dock: bool) -> None:
        if not from_dock:
            return super()._pump(source, sink, from_dock)
        with contextlib.suppress(OSError):  # closed at the end of the test
            while data := source.recv(self._chunk):
                time.sleep(0.1)  # the link's pace, not a wait for anything
                sink.sendall(data)
            sink.shutdown(socket.SHUT_WR)


def test_labels_going_up_a_slow_link_are_not_taken_for_a_stall(
    training_folder, tmp_path, monkeypatch
):
    monkeypatch.setattr(_remote, "WELCOME_TIMEOUT", 0.5)  # stands for 60 s
    monkeypatch.setattr(_remote, "SLOWEST_UPLINK", 250)  # below the tunnel's 1 kB/s
    served = EngineServer([training_folder.parent], TOKEN, tmp_path, port=0)
    threading.Thread(target=served.serve_forever, daemon=True).start()
    tunnel = _SlowUplink(served.address, rate=1000)
    noise = np.random.default_rng(0).integers(0, 2, TRAIN_SHAPE[1:]).astype(np.float32)
    with contextlib.closing(served), contextlib.closing(tunnel):
        engine = _remote.RemoteEngineProcess(  # labels of some kB: seconds to go up
            tunnel.address, TOKEN, training_folder, noise, noise >= 0, process_settings()
        )
        engine.close()
        assert engine.session in served.sessions


@pytest.fixture
def stalling(training_folder, tmp_path, monkeypatch):
    """A real engine server and a tunnel to it that the test can freeze: (server, tunnel).
    The dock pings often and gives a silent link 3 s; a reconnect's greeting 0.5 s."""
    monkeypatch.setattr(_remote, "HEARTBEAT", 0.1)
    monkeypatch.setattr(_remote, "QUIET", 1.0)
    monkeypatch.setattr(_remote, "SERVER_SILENT", 3.0)
    monkeypatch.setattr(_sockets, "CONNECT_TIMEOUT", 0.5)
    served = EngineServer([training_folder.parent], TOKEN, tmp_path, port=0)
    threading.Thread(target=served.serve_forever, daemon=True).start()
    tunnel = Forwarder(served.address)
    with contextlib.closing(served), contextlib.closing(tunnel):
        yield served, tunnel


def _through(tunnel, folder, recorder):
    ink, supervised = folder_labels(folder)
    return _remote.RemoteEngineProcess(
        tunnel.address, TOKEN, folder, ink, supervised, process_settings(), recorder
    )


def _quiet_notices(events) -> list:
    return [e for e in of_kind(Notice, events) if e.message.startswith("no answer from")]


@pytest.mark.slow
def test_a_link_that_falls_silent_is_told_of_once_before_it_is_let_go(training_folder, stalling):
    _served, tunnel = stalling
    recorder = Recorder()
    engine = _through(tunnel, training_folder, recorder)
    try:
        since = recorder.mark()
        tunnel.freeze()  # the laptop went away; sshd holds both ends open
        events = recorder.wait_for(state_reached(State.FAILED), since)
    finally:
        engine.close()
    host, port = tunnel.address.rsplit(":", 1)
    assert [e.message for e in _quiet_notices(events)] == [
        f"no answer from the engine server {host}:{port} for 1 s: the network or the SSH "
        "tunnel may be stalled (check that ssh is still connected); the dock lets the link go "
        "after 3 s. A Pause or Stop clicked meanwhile is sent again when the dock next reaches "
        "the server: on Predict, Save model, Check stack or a Guide action (Finetune starts the "
        "run again instead)"
    ]


@pytest.mark.slow
def test_a_pause_clicked_into_a_stalled_link_reaches_the_engine_on_reattaching(
    training_folder, stalling
):
    served, tunnel = stalling
    recorder = Recorder()
    engine = _through(tunnel, training_folder, recorder)
    try:
        engine.start()
        recorder.wait_for(steps_done(1))
        tunnel.freeze()
        engine.pause()  # into the stalled tunnel: lost there
        recorder.wait_for(state_reached(State.FAILED))
        engine.address = served.address  # the tunnel is up again (ssh -L run anew)
        since = recorder.mark()
        engine.predict(WHOLE)  # re-attaches

        recorder.wait_for(state_reached(State.PAUSED), since)
        assert served.sessions[engine.session].attached  # the same session, driven again
        assert engine.state is State.PAUSED
    finally:
        engine.close()


@pytest.mark.slow
def test_the_dock_takes_the_state_the_server_tells_on_reattaching(
    training_folder, stalling, monkeypatch
):
    served, _tunnel = stalling
    recorder = Recorder()
    engine = _remote.RemoteEngineProcess(
        "{}:{}".format(*served.address),
        TOKEN,
        training_folder,
        *folder_labels(training_folder),
        process_settings(),
        recorder,
    )
    try:
        engine.start()
        recorder.wait_for(steps_done(1))
        engine._child.events.sock.shutdown(socket.SHUT_RDWR)  # the link drops
        recorder.wait_for(state_reached(State.FAILED))
        since = recorder.mark()
        replay = engine._labels.unapplied

        def slow_replay():  # the server's state is read before the dock replays its labels
            recorder.wait_for(state_reached(State.TRAINING), since)
            return replay()

        monkeypatch.setattr(engine._labels, "unapplied", slow_replay)
        engine.predict(WHOLE)  # re-attaches to the session, which trains on

        assert engine.state is State.TRAINING
    finally:
        engine.close()


class _SlowToWelcome(EngineServer):
    """A healthy server that sets a session up for longer than the dock's QUIET."""

    def _start(self, spawn):
        time.sleep(_remote.QUIET * 1.5)  # the slow set-up itself, not a wait for anything
        return super()._start(spawn)


@pytest.mark.slow
def test_a_slow_connect_is_not_told_of_as_a_stalled_link(training_folder, tmp_path, monkeypatch):
    monkeypatch.setattr(_remote, "HEARTBEAT", 0.1)
    monkeypatch.setattr(_remote, "QUIET", 0.5)  # stands for 45 s
    served = _SlowToWelcome([training_folder.parent], TOKEN, tmp_path, port=0)
    threading.Thread(target=served.serve_forever, daemon=True).start()
    recorder = Recorder()
    with contextlib.closing(served):
        engine = remote_engine(served, training_folder, recorder)
        try:
            engine.start()
            recorder.wait_for(steps_done(1))  # the heartbeat has turned many times since
        finally:
            engine.close()
    assert _quiet_notices(recorder.events) == []
