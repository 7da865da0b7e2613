"""The engine server's links to its clients (a real server on 127.0.0.1): a laptop gone
behind an SSH tunnel, whose sshd stays up, is let go on both sides and its idle session ends;
a client that stops reading is let go while its engine trains on; an older client that never
pings is not held to the heartbeat; a session ended twice at once ends once; a client whose
engine died there is told by its connection's end; a dock whose session ended there starts a
new one with its first command."""

from __future__ import annotations

import contextlib
import logging
import socket
import threading

import pytest

from inkloop.engine import Failed, Ready, State, StepDone, _remote
from inkloop.engine import _commands as c
from inkloop.engine._remote import RemoteEngineProcess
from inkloop.engine._served import ServedSession
from inkloop.engine._server import EngineServer
from inkloop.engine._sockets import limit_waits
from inkloop.engine._wire import Attach, Spawn, Welcome, encode, read_frame, socket_reader
from tests._engine import (
    TOKEN,
    WHOLE,
    Forwarder,
    Heard,
    folder_labels,
    frames_to_the_end,
    past_handshake,
    process_settings,
)
from tests._events import TIMEOUT, Recorder, of_kind, state_reached

SERVER_LOG = "inkloop.engine._server"


def _serve(folder, tmp_path, server=EngineServer, **limits) -> EngineServer:
    served = server([folder.parent], TOKEN, tmp_path, port=0, **limits)
    threading.Thread(target=served.serve_forever, daemon=True).start()
    return served


def _client(address: str, folder, recorder) -> RemoteEngineProcess:
    ink, supervised = folder_labels(folder)
    return RemoteEngineProcess(
        address, TOKEN, folder, ink, supervised, process_settings(), recorder
    )


def _spawn(folder) -> Spawn:
    ink, supervised = folder_labels(folder)
    return Spawn(str(folder), {}, process_settings(), ink, supervised, 1)


@contextlib.contextmanager
def _hearing(*texts: str):
    """One `Heard` per text, set once the server logs it."""
    server_log, heard = logging.getLogger(SERVER_LOG), [Heard(text, 1) for text in texts]
    for handler in heard:
        server_log.addHandler(handler)
    try:
        yield heard
    finally:
        for handler in heard:
            server_log.removeHandler(handler)


def test_a_receive_limit_ends_a_silent_recv_and_leaves_sends_alone():
    with socket.create_server(("127.0.0.1", 0)) as listener:
        near = socket.create_connection(listener.getsockname())
        far, _ = listener.accept()
        with near, far:
            limit_waits(near, receive=0.05)
            with pytest.raises((BlockingIOError, TimeoutError)):  # nothing came
                near.recv(1)
            near.sendall(b"still sends")
            assert far.recv(64) == b"still sends"
            far.sendall(b"and reads")
            assert near.recv(64) == b"and reads"


@pytest.mark.slow
def test_a_laptop_gone_behind_its_tunnel_is_let_go_and_its_idle_session_ends(
    training_folder, tmp_path, monkeypatch
):
    monkeypatch.setattr(_remote, "HEARTBEAT", 0.1)
    monkeypatch.setattr(_remote, "SERVER_SILENT", 1.0)
    served = _serve(training_folder, tmp_path, idle_timeout=1.0, client_silent=1.0)
    tunnel = Forwarder(served.address)
    kept_events, gone_events = Recorder(), Recorder()
    with _hearing("nothing heard", "no client") as (let_go, reaped), contextlib.ExitStack() as end:
        end.callback(served.close)
        end.callback(tunnel.close)
        host, port = served.address
        kept = end.enter_context(_client(f"{host}:{port}", training_folder, kept_events))
        with past_handshake(served.address) as older:  # a client from before the heartbeat
            older.sendall(encode(_spawn(training_folder)))
            older_session = read_frame(socket_reader(older)).session
            gone = end.enter_context(_client(tunnel.address, training_folder, gone_events))
            for events in (kept_events, gone_events):
                events.wait_for(lambda events: of_kind(Ready, events))
            session = served.sessions[gone.session]
            tunnel.freeze()  # the laptop went away; sshd holds both ends open

            assert reaped.wait(TIMEOUT)  # detached, and then idle (a second more): ended
            assert let_go.done.is_set()  # for its silence
            assert gone.session not in served.sessions
            session.child.process.join(TIMEOUT)
            assert not session.alive
            gone_events.wait_for(state_reached(State.FAILED))  # the laptop's side noticed too
            assert "lost the connection" in gone_events.of(Failed)[-1].message
            # silent for longer, but its pings were answered: kept, on both sides
            assert served.sessions[kept.session].attached
            assert not kept_events.of(Failed)
            # silent for longer, but it never pinged: not held to the heartbeat
            assert served.sessions[older_session].attached


class _TinyBuffers(EngineServer):
    """A server whose sockets queue a few KB, not MBs: a client that stops reading fills
    them within a few events."""

    def _handle(self, sock: socket.socket, peer: str) -> None:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4096)
        super()._handle(sock, peer)


@pytest.mark.slow
def test_a_client_that_stops_reading_is_let_go_and_the_engine_trains_on(training_folder, tmp_path):
    served = _serve(training_folder, tmp_path, _TinyBuffers, send_timeout=1.0)
    with _hearing("lost its client") as (let_go,), contextlib.closing(served):
        with past_handshake(served.address, receive_buffer=4096) as stalled:
            stalled.sendall(
                b"".join(
                    encode(m)
                    for m in (
                        _spawn(training_folder),
                        c.Start(),
                        c.Preview(1, WHOLE, every=0.0),
                    )
                )
            )
            welcome = read_frame(socket_reader(stalled))
            assert isinstance(welcome, Welcome)
            # and reads no more, while the engine streams steps and preview tiles
            assert let_go.wait(TIMEOUT)
            assert not served.sessions[welcome.session].attached
            frames_to_the_end(stalled)  # hung up on, not left half-way through a frame

        with past_handshake(served.address) as back:  # the engine trained on: its steps still come
            back.sendall(encode(Attach(welcome.session)))
            read = socket_reader(back)
            assert read_frame(read) == Welcome(welcome.session, attached=True)
            while not isinstance(read_frame(read), StepDone):
                pass
            back.sendall(encode(c.Close()))


@pytest.mark.slow
def test_a_session_ended_twice_ends_once(training_folder, tmp_path):
    served = _serve(training_folder, tmp_path)
    with contextlib.closing(served), past_handshake(served.address) as sock:
        sock.sendall(encode(_spawn(training_folder)))
        session = served.sessions[read_frame(socket_reader(sock)).session]
        session.end()  # its client's Close, say
        session.end()  # and the server's close, together
        assert not session.alive
        assert session.id not in served.sessions


@pytest.mark.slow
def test_an_engine_that_dies_on_the_server_ends_its_clients_connection(training_folder, tmp_path):
    served = _serve(training_folder, tmp_path)
    with contextlib.closing(served), past_handshake(served.address) as sock:
        sock.sendall(encode(_spawn(training_folder)))
        session = served.sessions[read_frame(socket_reader(sock)).session]
        session.child.process.kill()
        frames_to_the_end(sock)  # told, not left waiting for events that never come
        assert not session.labels.folder.exists()  # ~230 MB for a full segment, in /tmp


@pytest.mark.slow
def test_a_dock_whose_session_ended_there_starts_a_new_one_at_once(training_folder, tmp_path):
    served = _serve(training_folder, tmp_path)
    host, port = served.address
    recorder = Recorder()
    with contextlib.closing(served), _client(f"{host}:{port}", training_folder, recorder) as proxy:
        first = proxy.session
        proxy._child.events.sock.shutdown(socket.SHUT_RDWR)  # the link dropped
        recorder.wait_for(state_reached(State.FAILED))
        served.sessions[first].end()  # and meanwhile the server reaped the session
        since = recorder.mark()
        proxy.start()  # refused its session: starts a new one, on the connection it opened
        recorder.wait_for(lambda events: of_kind(StepDone, events), since)
        assert proxy.session != first
        assert served.sessions[proxy.session].attached


@pytest.mark.slow
def test_the_link_welcomed_last_drives_however_late_the_first_ones_relay_starts(
    training_folder, tmp_path, monkeypatch
):
    """A dock that re-attaches just after its spawn was welcomed: the spawn's relay may start
    after the new link's; it must not take the session back and hang up the new link."""
    relay, relays, first_may_start = ServedSession.relay, [], threading.Event()
    new_link_reads = threading.Event()

    def relay_first_one_late(session, sock, read, peer):
        first = not relays  # the spawn's relay starts long before the Attach's
        relays.append(sock)
        if first:
            first_may_start.wait(TIMEOUT)

        def read_and_say_so(count):
            if not first:
                new_link_reads.set()
            return read(count)

        relay(session, sock, read_and_say_so, peer)

    monkeypatch.setattr(ServedSession, "relay", relay_first_one_late)
    served = _serve(training_folder, tmp_path)
    with contextlib.closing(served), past_handshake(served.address) as old:
        old.sendall(encode(_spawn(training_folder)))
        welcome = read_frame(socket_reader(old))
        with past_handshake(served.address) as back:
            back.sendall(encode(Attach(welcome.session)))
            assert read_frame(socket_reader(back)) == Welcome(welcome.session, attached=True)
            # the new link's relay reads its commands (not relays[-1]: the new relay may
            # not have begun, and the first one reads only once let start)
            assert new_link_reads.wait(TIMEOUT)
            first_may_start.set()
            frames_to_the_end(old)  # hung up on, not handed the session back
            assert served.sessions[welcome.session].attached
            back.sendall(encode(c.Close()))


def test_a_dock_back_before_its_old_link_was_let_go_takes_the_session_over(
    training_folder, tmp_path
):
    served = _serve(training_folder, tmp_path)
    with contextlib.closing(served), past_handshake(served.address) as old:
        old.sendall(encode(_spawn(training_folder)))
        welcome = read_frame(socket_reader(old))
        with _hearing("took session") as (taken,), past_handshake(served.address) as back:
            back.sendall(encode(Attach(welcome.session)))
            assert read_frame(socket_reader(back)) == Welcome(welcome.session, attached=True)
            assert taken.wait(TIMEOUT)
            frames_to_the_end(old)  # hung up on: no second link drives the engine
            assert served.sessions[welcome.session].attached
            back.sendall(encode(c.Close()))
