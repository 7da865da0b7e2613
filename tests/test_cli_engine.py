"""`inkloop engine serve`: a port or sessions folder it cannot use is one clear error at the
start; an engine the server cannot start is refused with the reason, once authenticated;
SIGTERM closes it as Ctrl+C does."""

from __future__ import annotations

import errno
import os
import re
import signal
import socket
import sys
import threading
from contextlib import contextmanager

import pytest

from inkloop.cli import main
from inkloop.engine import _refusal_log, _served
from inkloop.engine._remote import RemoteEngineProcess
from inkloop.engine._server import EngineServer
from inkloop.engine._wire import HELLO_LIMIT, LENGTH
from tests._engine import TOKEN, closed_by_server, folder_labels, process_settings
from tests._events import TIMEOUT, Recorder
from tests._helpers import posix_only, terminated_once_said

# Windows keeps no group or other bits (and inkloop checks a token file's mode on POSIX alone)
FILE_MODES = posix_only("a file's mode bits (Windows keeps only read-only)")


def _serve(tmp_path, *options) -> list[str]:
    """`inkloop engine serve` arguments (its token in ``tmp_path``)."""
    token = tmp_path / "token"
    return ["engine", "serve", "--root", str(tmp_path), "--token-file", str(token), *options]


@pytest.mark.parametrize("port", ["99999", "-1", "http"])
def test_a_port_out_of_range_is_refused_by_the_parser(tmp_path, capsys, serves_not, port):
    with pytest.raises(SystemExit) as exit:
        main(_serve(tmp_path, f"--port={port}"))
    assert exit.value.code == 2
    assert f"argument --port: {port!r} is not a port (0-65535)" in capsys.readouterr().err


@pytest.fixture
def serves_not(monkeypatch):
    """A server that would start returns at once, rather than serve for ever."""
    monkeypatch.setattr(EngineServer, "serve_forever", lambda self: None)


def test_a_sessions_folder_that_is_a_file_is_one_error_at_the_start(tmp_path, capfd, serves_not):
    file = tmp_path / "pr.png"
    file.write_bytes(b"")
    assert main(_serve(tmp_path, "--folder", str(file), "--port", "0")) == 1
    err = capfd.readouterr().err
    assert err == f"inkloop engine: error: --folder {file}: is a file; give a folder\n"


@pytest.mark.parametrize(
    ("mode", "token", "said"),
    [
        pytest.param(0o644, TOKEN, "group or others have access to the token file (mode 644): "
                     "run chmod 600 {file}", marks=FILE_MODES),
        pytest.param(0o620, TOKEN, "group or others have access to the token file (mode 620): "
                     "run chmod 600 {file}", marks=FILE_MODES),
        (0o600, "mysecret", "the token is 8 characters: use the token the server makes"),
        (0o600, "correct horse battery staple", "the token holds spaces: use the token the "
         "server makes (delete the file and start the server again); an impostor on the port "
         "could guess a hand-made one offline"),
    ],
)  # fmt: skip
def test_an_open_token_file_or_a_hand_made_token_is_refused(
    tmp_path, capfd, serves_not, mode, token, said
):
    file = tmp_path / "token"
    file.write_text(token + "\n")
    file.chmod(mode)
    assert main(_serve(tmp_path, "--port", "0", "--folder", str(tmp_path / "sessions"))) == 2
    err = capfd.readouterr().err
    assert err.startswith(f"inkloop engine: error: {file}: {said.format(file=file)}")
    assert err.count("\n") == 1


@pytest.mark.parametrize(("length", "code"), [(21, 2), (22, 0)])
def test_a_token_needs_22_characters(tmp_path, capfd, serves_not, length, code):
    """README's promise: a token under 22 characters is refused, one of 22 serves."""
    file = tmp_path / "token"
    file.write_text(TOKEN[:length] + "\n")
    file.chmod(0o600)
    assert main(_serve(tmp_path, "--port", "0", "--folder", str(tmp_path / "sessions"))) == code
    refused = f"inkloop engine: error: {file}: the token is {length} characters: use the token"
    assert capfd.readouterr().err.startswith(refused) == (code == 2)


@posix_only("os.getuid and files owned by a uid")
def test_a_token_file_of_another_user_is_refused(tmp_path, capfd, serves_not, monkeypatch):
    file = tmp_path / "token"
    file.write_text(TOKEN + "\n")
    file.chmod(0o600)
    monkeypatch.setattr(os, "getuid", lambda: file.stat().st_uid + 1)  # we are not its owner
    assert main(_serve(tmp_path, "--port", "0", "--folder", str(tmp_path / "sessions"))) == 2
    err = capfd.readouterr().err
    assert f"{file}: the token file belongs to another user (uid {file.stat().st_uid})" in err


@FILE_MODES
def test_a_token_file_it_makes_is_its_owners_alone(tmp_path, capfd, serves_not):
    assert main(_serve(tmp_path, "--port", "0", "--folder", str(tmp_path / "sessions"))) == 0
    assert (tmp_path / "token").stat().st_mode & 0o777 == 0o600
    assert "token in" in capfd.readouterr().err


def test_serving_beyond_this_machine_says_the_link_is_unencrypted(tmp_path, capfd, serves_not):
    sessions = str(tmp_path / "sessions")
    assert main(_serve(tmp_path, "--host", "0.0.0.0", "--port", "0", "--folder", sessions)) == 0
    warning = capfd.readouterr().err.splitlines()[0]
    assert "listening on 0.0.0.0: the link is unencrypted" in warning
    assert "prefer 127.0.0.1 and an SSH tunnel" in warning


@contextmanager
def _server(training_folder, sessions):
    """A real engine server on 127.0.0.1 keeping its sessions in ``sessions``; yields a
    function that connects with a token."""
    served = EngineServer([training_folder.parent], TOKEN, sessions, port=0)
    thread = threading.Thread(target=served.serve_forever, daemon=True)
    thread.start()
    host, port = served.address
    ink, supervised = folder_labels(training_folder)

    def connect(token):
        settings = process_settings()
        return RemoteEngineProcess(
            f"{host}:{port}", token, training_folder, ink, supervised, settings, Recorder()
        )

    try:
        yield connect
    finally:
        served.close()
        thread.join(TIMEOUT)


def test_an_engine_the_server_cannot_start_is_refused_with_why(training_folder, tmp_path):
    unusable = tmp_path / "sessions"
    unusable.write_bytes(b"")  # each session's folder would go in it
    with _server(training_folder, unusable) as connect:
        why = r"refused: the server cannot start an engine: \[Errno 20\] Not a directory"
        with pytest.raises(RuntimeError, match=why):
            connect(TOKEN)
        with pytest.raises(RuntimeError, match="did not prove it knows the token"):
            connect("guess")  # a stranger learns nothing


def test_an_engine_that_did_not_start_leaves_no_folder_behind(
    training_folder, tmp_path, monkeypatch
):
    made, label_files = [], _served.LabelFiles

    def kept_label_files(*args):
        made.append(label_files(*args))
        return made[-1]

    def no_room(*args):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(_served, "LabelFiles", kept_label_files)
    monkeypatch.setattr(_served, "spawn_child", no_room)
    sessions = tmp_path / "sessions"
    with (
        _server(training_folder, sessions) as connect,
        pytest.raises(RuntimeError, match="No space left on device"),
    ):
        connect(TOKEN)
    assert list(sessions.iterdir()) == []
    assert not made[0].folder.exists()


@posix_only("a folder made read-only by its mode (Windows ignores it)")
@pytest.mark.skipif(
    getattr(os, "geteuid", lambda: -1)() == 0, reason="root writes in a read-only folder"
)
def test_a_read_only_sessions_folder_is_one_error_at_the_start(tmp_path, capfd, serves_not):
    folder = tmp_path / "sessions"
    folder.mkdir(mode=0o555)
    assert main(_serve(tmp_path, "--folder", str(folder), "--port", "0")) == 1
    why = "sessions cannot write there: Permission denied"
    assert capfd.readouterr().err == f"inkloop engine: error: --folder {folder}: {why}\n"


def _refused_at(port: int) -> None:
    """A stranger's oversized frame, closed by the server (so logged or counted) on return."""
    with socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT) as sock:
        sock.sendall(LENGTH.pack(HELLO_LIMIT + 1))
        while not closed_by_server(sock):  # its greeting first
            pass


@posix_only("SIGTERM sent to a child (Windows has no such signal to send)")
def test_a_server_ended_by_sigterm_still_logs_the_refusals_it_counted(tmp_path):
    """SIGTERM (systemctl stop, kill, a batch job's time limit) closes the server as Ctrl+C
    does, the count of a flood's last connections logged, and the server ends by that signal."""
    serve = _serve(tmp_path, "--port", "0", "--folder", str(tmp_path / "sessions"))

    def flood(serving: str) -> None:
        port = int(re.search(r":(\d+); token in ", serving)[1])
        for _ in range(_refusal_log.IN_FULL + 3):
            _refused_at(port)

    command = [sys.executable, "-m", "inkloop.cli", *serve]
    status, said = terminated_once_said(command, "inkloop engine: serving", flood)
    assert status == -signal.SIGTERM, said  # as any program ends on it
    assert "engine server: and 3 more connections since" in said
