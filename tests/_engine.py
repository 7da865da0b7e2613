"""An in-process Engine on the shared training segment, predicates over its predictions, and
an engine process on an engine server, bare connections to one (or through a forwarder that
stands in for an SSH tunnel), or what it logs."""

from __future__ import annotations

import contextlib
import errno
import logging
import os
import socket
import threading
from pathlib import Path

import numpy as np

from inkloop.engine import Engine, PredictionReady, State
from inkloop.engine._remote import RemoteEngineProcess
from inkloop.engine._sockets import SocketConnection
from inkloop.engine._wire import read_frame, socket_reader
from inkloop.settings import EngineSettings
from tests._events import TIMEOUT, Recorder, steps_done
from tests._helpers import FULL_RESOLUTION, tiny_model, tiny_training

WHOLE = (0, 0, 96, 128)  # the training segment; 6 tiles of 64 px (stride 32)
BIG = (8, 256, 384)  # 6 blocks of 128 px: room for commands between blocks
TOKEN = "tests-only-0123456789-abcdefABCDEF"  # what the tests' servers ask for; no passphrase
OWN = "20240101000000_inkloop_model.pt"  # a segment's own model file, from an earlier day


class Heard(logging.Handler):
    """A log handler set once ``text`` has been logged ``times`` times (hear the server by
    adding it to the ``inkloop.engine._server`` logger)."""

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


def engine_for(segment, recorder, supervised=None, **settings) -> Engine:
    """A tiny-model Engine on ``segment`` (labels: its ink, the papyrus supervised)."""
    train = settings.pop("train", tiny_training())
    composition = settings.pop("composition", FULL_RESOLUTION)
    settings = EngineSettings(model=tiny_model(), train=train, composition=composition, **settings)
    ink = np.asarray(segment.ink_labels)
    supervised = np.asarray(segment.mask) if supervised is None else supervised
    return Engine(segment, ink, supervised, settings, on_event=recorder)


def folder_labels(folder):
    """A segment folder's ink labels, with its papyrus supervised (as numpy)."""
    from inkloop.io import open_segment

    segment = open_segment(folder)
    return np.asarray(segment.ink_labels), np.asarray(segment.mask)


def process_settings() -> EngineSettings:
    """Tiny-model settings for an engine in a process (here or on a server), 64-px tiles."""
    return EngineSettings(
        model=tiny_model(), train=tiny_training(), composition=FULL_RESOLUTION, tile=64
    )


def server_address(server) -> str:
    """An EngineServer's address as its clients name it: ``host:port``."""
    host, port = server.address
    return f"{host}:{port}"


def remote_engine(server, folder, recorder, token=TOKEN, settings=None) -> RemoteEngineProcess:
    """An engine process on the engine server ``server`` for the segment ``folder`` (its ink,
    its papyrus supervised), with ``settings`` (default: `process_settings`)."""
    ink, supervised = folder_labels(folder)
    settings = process_settings() if settings is None else settings
    return RemoteEngineProcess(
        server_address(server), token, folder, ink, supervised, settings, recorder
    )


def serving(server):
    """Run the engine server ``server`` on a thread until the generator ends (a fixture's
    ``yield from``): yields it."""
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.close()
    thread.join(TIMEOUT)


def raw_socket(server) -> socket.socket:
    """A bare connection to the engine server ``server``: for bytes no client sends."""
    return socket.create_connection(server.address, timeout=TIMEOUT)


def past_handshake(address, token: str = TOKEN, receive_buffer: int | None = None):
    """A bare connection to the engine server at ``address`` (host, port), past its handshake
    with ``token``; ``receive_buffer``: the bytes it may queue (set before connecting, as the
    window offered is set then)."""
    sock = socket.socket()
    try:
        if receive_buffer:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, receive_buffer)
        sock.settimeout(TIMEOUT)
        sock.connect(tuple(address))
        SocketConnection(sock).authenticate(token)
    except BaseException:
        sock.close()
        raise
    return sock


def frames_to_the_end(sock: socket.socket) -> list:
    """The messages the server sends on ``sock`` until it hangs up (a frame it cut short, or a
    reset, ends them; TimeoutError if it never hangs up)."""
    read, frames = socket_reader(sock), []
    with contextlib.suppress(EOFError, ConnectionResetError):
        while True:
            frames.append(read_frame(read))
    return frames


class Forwarder:
    """A TCP forwarder on 127.0.0.1 to ``target`` for one connection, standing in for an SSH
    tunnel. `hold` keeps what the dock sends until `release` (a round trip as long as the
    test needs); `freeze` passes no byte more either way and keeps both connections open (the
    laptop went away, sshd did not). With ``record``, what the dock sent is in ``sent``."""

    def __init__(self, target, *, record: bool = False) -> None:
        self._target, self.sent = target, bytearray() if record else None
        self._frozen, self._passing = threading.Event(), threading.Event()
        self._passing.set()
        self.holding = threading.Event()  # set once the dock's bytes wait at the hold
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.address = "{}:{}".format(*self._listener.getsockname()[:2])
        self._sockets = [self._listener]
        threading.Thread(target=self._accept, daemon=True).start()

    def hold(self) -> None:
        self._passing.clear()

    def release(self) -> None:
        self._passing.set()

    def freeze(self) -> None:
        self._frozen.set()

    def close(self) -> None:
        self.freeze()
        self.release()
        for sock in self._sockets:
            sock.close()

    def _accept(self) -> None:
        near, _ = self._listener.accept()
        far = socket.create_connection(self._target)
        self._sockets += [near, far]
        threading.Thread(target=self._pump, args=(far, near, False), daemon=True).start()
        self._pump(near, far, True)

    def _pump(self, source: socket.socket, sink: socket.socket, from_dock: bool) -> None:
        with contextlib.suppress(OSError):  # closed at the end of the test
            while data := source.recv(1 << 16):
                if from_dock and self.sent is not None:
                    self.sent += data  # before it goes on: recorded once the server answers
                if from_dock and not self._passing.is_set():
                    self.holding.set()
                    self._passing.wait()
                if self._frozen.is_set():
                    return  # holds what came: nothing more is read or passed on
                sink.sendall(data)
            sink.shutdown(socket.SHUT_WR)


def closed_by_server(sock: socket.socket) -> bool:
    """Whether the server closed ``sock`` (a reset, when our bytes were left unread)."""
    try:
        return sock.recv(1 << 16) == b""
    except ConnectionResetError:
        return True


def predictions(request=None):
    """Events -> the PredictionReady ones (of ``request`` only, if given)."""
    return lambda events: [
        e
        for e in events
        if isinstance(e, PredictionReady) and (request is None or e.request == request)
    ]


def rounds_done(request, count):
    """Predicate: ``count`` complete predictions of ``request``."""

    def done(events):
        finished = [e for e in predictions(request)(events) if e.tiles_done == e.tiles_total]
        return len(finished) >= count

    return done


def preview_while_training(engine, recorder, rounds: int = 2) -> int:
    """Train, keep WHOLE previewed (from the first step on) until ``rounds`` complete rounds
    arrived, then stop; returns the preview's request number."""
    engine.start()
    recorder.wait_for(steps_done(1))
    request = engine.preview(WHOLE, every=0.0)
    recorder.wait_for(rounds_done(request, rounds))
    engine.stop()
    assert engine.wait(TIMEOUT)
    return request


def run_once(segment, own: Path, recorder=None) -> None:
    """One tiny run to its end, autosaving to ``own``."""
    recorder = recorder or Recorder()
    with engine_for(segment, recorder, train=tiny_training(max_steps=1), autosave=own) as engine:
        engine.start()
        assert engine.wait(TIMEOUT)
        assert engine.state is State.FINISHED


def kept_copies(folder: Path) -> list[str]:
    """The names of the kept (``.saved-``) copies in ``folder``, sorted."""
    return sorted(p.name for p in folder.iterdir() if ".saved-" in p.name)


def refuse_move_ins(monkeypatch, path: Path, once: bool = False) -> None:
    """Moving a new part in over ``path`` is refused (Windows: a scanner holds it); with
    ``once``, only the first time."""
    real, refused = os.replace, []

    def held(src, dst, *args, **kwargs):
        if Path(dst) == path and str(src).endswith(".tmp") and not (once and refused):
            refused.append(src)
            raise PermissionError(errno.EACCES, "being used by another process", str(src))
        return real(src, dst, *args, **kwargs)

    monkeypatch.setattr(os, "replace", held)
