"""An engine server's places: a new engine's torch threads are the server's cores shared
among the engines it then runs, whatever the client's machine has; a dock turned away with
every place taken hears how many have no dock attached and when the first of those ends;
`engine serve --max-sessions` sets how many there are. A real server on 127.0.0.1."""

from __future__ import annotations

import logging
from types import SimpleNamespace

import pytest

from inkloop.cli import main
from inkloop.engine._server import EngineServer
from inkloop.engine._server_places import all_taken, engine_threads
from inkloop.engine._wire import Refused, Spawn, Welcome, encode, read_frame, socket_reader
from tests._engine import TOKEN, folder_labels, past_handshake, process_settings, serving


@pytest.mark.parametrize(
    ("engines", "cpus", "threads"), [(1, 64, 63), (2, 64, 31), (8, 16, 1), (1, 1, 1), (3, 2, 1)]
)
def test_an_engine_gets_the_servers_cores_shared_among_its_engines(engines, cpus, threads):
    assert engine_threads(engines, cpus) == threads


def _spawn(sock, folder, torch_threads: int):
    ink, supervised = folder_labels(folder)
    spawn = Spawn(str(folder), {}, process_settings(), ink, supervised, torch_threads)
    sock.sendall(encode(spawn))
    return read_frame(socket_reader(sock))


def _served(folder, tmp_path, places: int):
    """A server on 127.0.0.1 with ``places`` for engines, running until the generator ends."""
    yield from serving(EngineServer([folder.parent], TOKEN, tmp_path, port=0, max_sessions=places))


@pytest.fixture
def one_place(training_folder, tmp_path):
    """A server on 127.0.0.1 with a place for one engine."""
    yield from _served(training_folder, tmp_path, 1)


@pytest.fixture
def two_places_of_17_cores(training_folder, tmp_path, monkeypatch):
    """A server on 127.0.0.1 with places for two engines, on a machine of 17 cores."""
    monkeypatch.setattr("inkloop.engine._server_places.usable_cpus", lambda: 17)
    yield from _served(training_folder, tmp_path, 2)


def test_the_server_not_the_client_chooses_the_threads_and_a_full_one_says_so(
    one_place, training_folder, caplog
):
    with (
        caplog.at_level(logging.INFO, "inkloop.engine._server"),
        past_handshake(one_place.address) as first,
    ):
        assert isinstance(_spawn(first, training_folder, 12), Welcome)  # a 13-core laptop's
        with past_handshake(one_place.address) as second:
            answer = _spawn(second, training_folder, 12)
    assert f"its engine gets {engine_threads(1)} torch threads" in caplog.text
    assert isinstance(answer, Refused)
    assert answer.message.startswith("the server runs 1 engine already, its most, each with")
    assert "inkloop engine serve --max-sessions" in answer.message


def test_a_lone_engine_gets_the_server_and_a_second_its_share(
    two_places_of_17_cores, training_folder, caplog
):
    address = two_places_of_17_cores.address
    with (
        caplog.at_level(logging.INFO, "inkloop.engine._server"),
        past_handshake(address) as first,
        past_handshake(address) as second,
    ):
        assert isinstance(_spawn(first, training_folder, 1), Welcome)
        assert isinstance(_spawn(second, training_folder, 1), Welcome)
    counts = [r.args[1] for r in caplog.records if "torch threads" in r.getMessage()]
    assert counts == [16, 8]  # a lone user's engine is not held to 1/places of the server


def test_a_full_server_says_how_many_have_no_dock_and_when_the_first_ends():
    sessions = [
        SimpleNamespace(attached=True, left_at=0.0),
        SimpleNamespace(attached=False, left_at=900.0),
        SimpleNamespace(attached=False, left_at=400.0),  # its dock left first: it ends first
    ]
    said = all_taken(3, sessions, idle_timeout=3600.0, now=1000.0)
    assert "(2 with no dock attached; the first of those ends in 50 min unless" in said
    assert "close a dock you do not use" in said
    assert "1 h 58 min" in all_taken(3, sessions[1:2], idle_timeout=7200.0, now=1000.0)


def test_engine_serve_takes_the_most_engines(tmp_path, monkeypatch, capsys):
    taken = []
    monkeypatch.setattr(EngineServer, "serve_forever", lambda self: taken.append(self))
    serve = ["engine", "serve", "--root", str(tmp_path), "--token-file", str(tmp_path / "t")]
    assert (
        main([*serve, "--port", "0", "--folder", str(tmp_path / "s"), "--max-sessions", "3"]) == 0
    )
    assert taken[0].max_sessions == 3
    with pytest.raises(SystemExit):
        main([*serve, "--max-sessions", "0"])
    assert "'0' is not a whole number of 1 or more" in capsys.readouterr().err
