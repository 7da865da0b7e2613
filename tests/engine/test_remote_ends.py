"""A remote engine's session that ends, or is left: the dock is told why its session on the
server ended (an engine killed there, the server shut down) and not that the link was lost; a
dock back for a session that has ended is told so, and from what a new one starts; a session
whose dock went away is ended after the idle limit even while it trains, and kept before it;
a dock closed after its link dropped closes its session there; a session sends no file from
outside its own folder. The server's engines here are threads standing in
for engine processes (`_Engine`): no torch, so each test takes a fraction of a second."""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import multiprocessing
import socket
import threading

import pytest

from inkloop.engine import (
    CheckpointSaved,
    Failed,
    Notice,
    Ready,
    State,
    StateChanged,
    StepDone,
    _served,
)
from inkloop.engine import _commands as c
from inkloop.engine._child import ChildHandle, Waited
from inkloop.engine._remote import RemoteEngineProcess
from inkloop.engine._server import EngineServer
from tests._engine import TOKEN, Heard, folder_labels, process_settings, server_address
from tests._events import TIMEOUT, Recorder, of_kind, state_reached, steps_done

SERVER_LOG = "inkloop.engine._server"


class _Engine:
    """An engine child's stand-in on the server, a thread: Ready at once; while training a
    step every few ms, autosaved at the first; autosaved again at Close; waits answered.
    `kill` ends it as SIGKILL would, saying nothing more."""

    pid = None

    def __init__(self, settings) -> None:
        self.settings, self.exitcode, self.closed = settings, None, False
        self._killed = threading.Event()
        self._commands, commands = multiprocessing.Pipe(duplex=False)
        events, self._events = multiprocessing.Pipe(duplex=False)
        self.handle = ChildHandle(self, commands, events)
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def kill(self) -> None:
        self._killed.set()

    terminate = kill

    def join(self, timeout=None) -> None:
        self._thread.join(timeout)

    def _run(self) -> None:
        self._events.send(Ready(0, 0.0))
        step, training = 0, False
        while not self._killed.is_set():
            if self._commands.poll(0.005):
                command = self._commands.recv()
                if isinstance(command, c.Close):
                    self.closed = True
                    self._autosave(step)
                    break
                if isinstance(command, c.Start):
                    training = True
                    self._events.send(StateChanged(State.TRAINING, State.IDLE))
                elif isinstance(command, c.Wait):
                    self._events.send(Waited(command.token, True))
            elif training:
                step += 1
                self._events.send(StepDone(step, 0.5, 1e-3, 100.0, 1, 0, None))
                if step == 1:
                    self._autosave(step)
        self.exitcode = -9 if self._killed.is_set() else 0
        self._events.close()

    def _autosave(self, step: int) -> None:
        if self.settings.autosave is not None:
            self._events.send(CheckpointSaved(str(self.settings.autosave), step, autosave=True))


@pytest.fixture
def engines(monkeypatch) -> list[_Engine]:
    """The stand-in engines the servers of a test start, in order."""
    started: list[_Engine] = []

    def spawn(spec, settings) -> ChildHandle:
        started.append(_Engine(settings))
        return started[-1].handle

    monkeypatch.setattr(_served, "spawn_child", spawn)
    return started


@contextlib.contextmanager
def _served_and_docked(folder, tmp_path, recorder, **limits):
    """An engine server for ``folder`` and a dock's engine on it, closed at the end."""
    served = EngineServer([folder.parent], TOKEN, tmp_path / "sessions", port=0, **limits)
    threading.Thread(target=served.serve_forever, daemon=True).start()
    ink, supervised = folder_labels(folder)
    settings = dataclasses.replace(process_settings(), autosave=tmp_path / "autosaved.pt")
    with contextlib.closing(served):
        proxy = RemoteEngineProcess(
            server_address(served), TOKEN, folder, ink, supervised, settings, recorder
        )
        try:  # attached: its engine's Ready may have gone out before, to nobody
            yield served, proxy
        finally:
            proxy.close()
            assert proxy.join(TIMEOUT)


@contextlib.contextmanager
def _hearing(text: str):
    """A `Heard` set once the server logs ``text``."""
    heard, server_log = Heard(text, 1), logging.getLogger(SERVER_LOG)
    server_log.addHandler(heard)
    try:
        yield heard
    finally:
        server_log.removeHandler(heard)


def _drop_link(proxy: RemoteEngineProcess) -> None:
    """The network goes away under the dock."""
    proxy._child.events.sock.shutdown(socket.SHUT_RDWR)


def _autosaved(recorder: Recorder) -> str:
    """The path on the server of the engine's first autosave, once it came."""
    recorder.wait_for(lambda events: of_kind(CheckpointSaved, events))
    return recorder.of(CheckpointSaved)[0].path


def test_an_engine_killed_on_the_server_is_reported_with_its_exit_code_and_checkpoint(
    training_folder, tmp_path, engines
):
    recorder = Recorder()
    with (
        _hearing("its engine process ended (exit code -9)") as warned,
        _served_and_docked(training_folder, tmp_path, recorder) as (_, proxy),
    ):
        proxy.start()
        checkpoint = _autosaved(recorder)
        engines[-1].kill()  # the OOM killer, say
        recorder.wait_for(state_reached(State.FAILED))
        (failed,) = recorder.of(Failed)  # the server's word, not "lost the connection" too
        assert "session on the engine server ended" in failed.message
        assert "exit code -9" in failed.message
        assert f"its last checkpoint there is {checkpoint}" in failed.message
        assert warned.wait(TIMEOUT)  # and the server's log says so


def test_a_server_shut_down_tells_its_docks_so(training_folder, tmp_path, engines):
    recorder = Recorder()
    with _served_and_docked(training_folder, tmp_path, recorder) as (served, _):
        served.close()
        recorder.wait_for(state_reached(State.FAILED))
        (failed,) = recorder.of(Failed)
        assert "the engine server was shut down" in failed.message
        assert engines[-1].closed  # ended as a Close ends it: autosaved


def test_a_link_lost_with_no_word_from_the_server_says_training_may_go_on(
    training_folder, tmp_path, engines
):
    recorder = Recorder()
    with _served_and_docked(training_folder, tmp_path, recorder) as (_, proxy):
        proxy.start()
        recorder.wait_for(steps_done(1))
        _drop_link(proxy)
        recorder.wait_for(state_reached(State.FAILED))
        (failed,) = recorder.of(Failed)
        assert "lost the connection to the engine server" in failed.message
        assert "training may go on there" in failed.message  # it may have ended meanwhile


def test_a_dock_back_for_a_session_that_ended_is_told_and_starts_from_its_checkpoint(
    training_folder, tmp_path, engines
):
    recorder = Recorder()
    with _served_and_docked(training_folder, tmp_path, recorder) as (_, proxy):
        proxy.start()
        checkpoint, first = _autosaved(recorder), proxy.session
        engines[-1].kill()
        recorder.wait_for(state_reached(State.FAILED))

        since = recorder.mark()
        proxy.start()  # its session is refused: a new one starts
        later = recorder.wait_for(steps_done(1), since)
        (notice,) = of_kind(Notice, later)
        assert f"session {first} has ended: its engine process ended (exit code -9)" in (
            notice.message
        )
        assert notice.message.endswith(f"A new session starts from the model {checkpoint}")
        assert proxy.session != first
        assert str(engines[-1].settings.init) == checkpoint  # and does


def test_a_session_training_with_no_dock_is_ended_after_the_idle_limit(
    training_folder, tmp_path, engines
):
    recorder = Recorder()
    with (
        _hearing("no client for") as reaped,
        _served_and_docked(training_folder, tmp_path, recorder, idle_timeout=0.5) as (
            served,
            proxy,
        ),
    ):
        proxy.start()
        recorder.wait_for(steps_done(1))
        session = served.sessions[proxy.session]
        _drop_link(proxy)  # and the dock never comes back, while its engine trains on
        assert reaped.wait(TIMEOUT)
        session.child.reader.join(TIMEOUT)
        assert not session.alive
        assert engines[-1].closed  # ended as a Close ends it: autosaved
        assert proxy.session not in served.sessions


def test_a_dock_closed_after_its_link_dropped_closes_its_session_there(
    training_folder, tmp_path, engines
):
    recorder = Recorder()
    with _served_and_docked(training_folder, tmp_path, recorder) as (served, proxy):
        proxy.start()
        recorder.wait_for(steps_done(1))
        session = served.sessions[proxy.session]
        _drop_link(proxy)
        recorder.wait_for(state_reached(State.FAILED))
        proxy.close()  # the user closes the dock, or napari
        assert proxy.join(TIMEOUT)
        assert session.id not in served.sessions
        assert engines[-1].closed  # by the dock's Close: autosaved, not left training


def test_a_session_sends_only_files_of_its_own_folder(training_folder, tmp_path, engines):
    recorder = Recorder()
    with _served_and_docked(training_folder, tmp_path, recorder) as (served, proxy):
        folder = served.sessions[proxy.session].folder
        other = folder.parent / "another-session"  # another client's
        other.mkdir()
        (other / "model.pt").write_bytes(b"another client's model")
        (folder / "link.pt").symlink_to(other / "model.pt")
        for path in (f"{folder}/../another-session/model.pt", str(folder / "link.pt")):
            with pytest.raises(RuntimeError, match="is not a file of this session"):
                proxy.fetch(path, tmp_path / "fetched.pt")
        assert not (tmp_path / "fetched.pt").exists()


def test_a_session_left_for_less_than_the_idle_limit_is_kept(training_folder, tmp_path, engines):
    idle = 3600.0  # the reaper's own turn is 60 s away: only the test reaps here
    with _served_and_docked(training_folder, tmp_path, Recorder(), idle_timeout=idle) as (
        served,
        proxy,
    ):
        session = served.sessions[proxy.session]
        with session._send_lock:  # its link lost as a failed send loses it: at once
            session._drop_client("the test let it go")
        served._reap(session.left_at + idle / 2)  # a laptop lid closed for half an hour
        assert proxy.session in served.sessions
        assert session.alive
        served._reap(session.left_at + idle * 2)
        assert proxy.session not in served.sessions
