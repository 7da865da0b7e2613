"""A dock whose process was stopped (a laptop's lid closed, kill -STOP) does not blame the
network for the silence it slept through: its heartbeat counts a silence from when it runs
again. A real dock process, stopped and continued, on a silent server on 127.0.0.1."""

from __future__ import annotations

import os
import queue
import signal
import socket
import subprocess
import sys
import threading
import time

import pytest

from inkloop.engine._handshake import check_answer, new_challenge
from inkloop.engine._versions import greeting
from inkloop.engine._wire import HELLO_LIMIT, encode, read_frame, socket_reader
from tests._engine import TOKEN
from tests._events import TIMEOUT
from tests._helpers import posix_only

QUIET = 1.0  # seconds of silence before the dock's heartbeat says the link may be stalled
STOPPED = 3.0  # seconds the dock's process is stopped: longer than QUIET by far
LIMIT = 10.0  # seconds the dock waits for a frame before it gives up: a hang ends the test

# each "quiet" line says when it was told (time.monotonic: one clock for every process here)
DOCK = """
import sys, time
from inkloop.engine._sockets import Quiet, SocketConnection
connection = SocketConnection.connect(("127.0.0.1", int(sys.argv[1])))
connection.authenticate(sys.argv[2])
told = lambda s: print(f"quiet {s} {time.monotonic()}", flush=True)
connection.beat(600.0, float(sys.argv[4]), Quiet(float(sys.argv[3]), told))
print("beating", flush=True)
connection.recv()
"""


def _silent_server(listener: socket.socket, done: threading.Event) -> None:
    """Greet one dock, prove the token, then say nothing until ``done``."""
    sock, _ = listener.accept()
    with sock:
        challenge, nonce = new_challenge()
        sock.sendall(encode(greeting()) + encode(challenge))
        answer = read_frame(socket_reader(sock), HELLO_LIMIT)
        sock.sendall(encode(check_answer(answer, nonce, TOKEN.encode())))
        done.wait(TIMEOUT)


def _lines(dock: subprocess.Popen) -> queue.Queue:
    """The dock's output lines as they come ("" at its end), read in a thread: a test that
    takes them with a timeout fails rather than hangs."""
    lines: queue.Queue = queue.Queue()

    def read() -> None:
        for line in iter(dock.stdout.readline, ""):
            lines.put(line)
        lines.put("")

    threading.Thread(target=read, daemon=True).start()
    return lines


@posix_only("SIGSTOP")
def test_a_dock_stopped_longer_than_its_quiet_does_not_say_the_network_stalled():
    listener, done = socket.create_server(("127.0.0.1", 0)), threading.Event()
    server = threading.Thread(target=_silent_server, args=(listener, done), daemon=True)
    server.start()
    port = str(listener.getsockname()[1])
    args = [sys.executable, "-c", DOCK, port, TOKEN, str(QUIET), str(LIMIT)]
    dock = subprocess.Popen(args, stdout=subprocess.PIPE, text=True)
    try:
        lines = _lines(dock)
        assert lines.get(timeout=TIMEOUT) == "beating\n"
        os.kill(dock.pid, signal.SIGSTOP)
        time.sleep(STOPPED)  # the lid closed: the scenario, not a wait for something
        continued = time.monotonic()
        os.kill(dock.pid, signal.SIGCONT)
        told = lines.get(timeout=TIMEOUT).split()  # the silence since it ran again
    finally:
        dock.kill()
        dock.wait(TIMEOUT)
        done.set()
        server.join(TIMEOUT)
        listener.close()
    assert told, "the dock never said its link was quiet"
    seconds, at = float(told[1]), float(told[2])
    if at < continued:  # a loaded machine delayed the stop by QUIET s: a real silence, told
        pytest.skip("stalled: the dock was told of a silence before it was stopped")
    assert seconds < STOPPED, f"the dock counted the {STOPPED} s it was stopped"
