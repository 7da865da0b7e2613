"""`inkloop engine serve`: engines for docks on other machines, over TCP.

Each client session is an engine child process here (`spawn_child`, as the dock would start
locally), fed with the commands that arrive and relaying its events back (`_wire` frames).
Before anything else a connection must send a Hello with the token (compared in constant
time); an unauthenticated, malformed or oversized frame closes that connection with a
logged reason and the server goes on serving. A segment must lie under the folders the
server was started with; checkpoints and predictions are written in the session's folder
here, whatever path the client named. A dropped connection ends the relay, not the session:
its engine trains on, and the client re-attaches with the session's id.
"""

from __future__ import annotations

import dataclasses
import hmac
import logging
import secrets
import socket
import threading
import time
from pathlib import Path

import numpy as np

from inkloop.engine import _commands as c
from inkloop.engine._child import Spec, end_child, spawn_child
from inkloop.engine._events import Failed, StateChanged
from inkloop.engine._labelfiles import LabelFiles
from inkloop.engine._wire import (
    HELLO_LIMIT,
    MAX_FRAME,
    Fetch,
    Fetched,
    Hello,
    ProtocolError,
    Refused,
    Spawn,
    Welcome,
    encode,
    read_frame,
    socket_reader,
)

log = logging.getLogger(__name__)
HELLO_TIMEOUT = 10.0  # seconds a new connection gets to authenticate, in all
MAX_GREETING = 16  # connections that may be authenticating at once; more are closed at once
OPEN_OPTIONS = {"z_start", "z_count", "reverse"}  # what a client may ask open_segment for


class RefusedError(Exception):
    """Why a connection is closed (sent as Refused when the client may learn it)."""


class EngineServer:
    """Serve engine sessions on ``host``:``port`` (0: any free port) for segments under
    ``roots``; ``folder`` holds the sessions' checkpoints and predictions."""

    def __init__(self, roots, token: str, folder: Path, *, host="127.0.0.1", port=0) -> None:
        if not token:
            raise ValueError("the engine server needs a token")
        self.roots = [Path(r).expanduser().resolve() for r in roots]
        self.token, self.folder = token.encode(), Path(folder)
        self.sessions: dict[str, Session] = {}
        self._lock = threading.Lock()
        self._listener = socket.create_server((host, port))
        self.address = self._listener.getsockname()[:2]
        self._closed = False
        self._greeting = threading.BoundedSemaphore(MAX_GREETING)

    def serve_forever(self) -> None:
        """Accept connections until `close`; each is handled on its own thread."""
        while True:
            try:
                sock, peer = self._listener.accept()
            except OSError as error:
                if self._closed:
                    return
                log.warning("engine server: cannot accept a connection: %s", error)
                time.sleep(0.5)  # out of file handles, say: serve on once some close
                continue
            peer = f"{peer[0]}:{peer[1]}"
            if not self._greeting.acquire(blocking=False):
                log.warning(
                    "engine server: %s closed: %d others authenticating", peer, MAX_GREETING
                )
                sock.close()
                continue
            threading.Thread(target=self._handle, args=(sock, peer), daemon=True).start()

    def close(self) -> None:
        """Stop accepting and end every session's engine."""
        self._closed = True
        try:
            self._listener.shutdown(socket.SHUT_RDWR)  # wakes the accept() under way
        except OSError as error:  # not listening any more
            log.debug("engine server: %s", error)
        self._listener.close()
        with self._lock:
            sessions, self.sessions = list(self.sessions.values()), {}
        for session in sessions:
            session.end()

    def _handle(self, sock: socket.socket, peer: str) -> None:
        try:
            session = self._greet(sock, peer)
        finally:
            self._greeting.release()
        if session is None:
            sock.close()
            return
        log.info("engine server: %s drives session %s", peer, session.id)
        sock.settimeout(None)
        session.relay(sock, socket_reader(sock), peer)

    def _greet(self, sock: socket.socket, peer: str) -> Session | None:
        """The session a new connection drives once it has sent the token and its Spawn (or
        the id of its session) within `HELLO_TIMEOUT`; None, logged, if it does not."""
        read = socket_reader(sock, deadline=time.monotonic() + HELLO_TIMEOUT)
        try:
            hello = read_frame(read, HELLO_LIMIT)
            if not (isinstance(hello, Hello) and self._valid(hello.token)):
                raise ProtocolError("no valid token")  # nothing more is said to a stranger
            session = self._session_for(hello, read)
            sock.sendall(encode(Welcome(session.id, attached=hello.session is not None)))
            return session
        except RefusedError as reason:
            log.warning("engine server: %s refused: %s", peer, reason)
            _send_quietly(sock, Refused(str(reason)))
        except (ProtocolError, EOFError, OSError) as error:
            log.warning("engine server: %s closed: %s", peer, error)
        except Exception:  # a well-formed message with fields of the wrong kind, say
            log.exception("engine server: %s closed: its request failed", peer)
        return None

    def _valid(self, token) -> bool:
        return isinstance(token, str) and hmac.compare_digest(
            token.encode("utf-8", "replace"), self.token
        )

    def _session_for(self, hello: Hello, read) -> Session:
        if hello.session is not None:
            with self._lock:
                session = self.sessions.get(hello.session)
            if session is None or not session.alive:
                raise RefusedError(f"no session {hello.session} here (its engine ended)")
            return session
        spawn = read_frame(read)
        if not isinstance(spawn, Spawn):
            raise ProtocolError(f"expected Spawn, got {type(spawn).__name__}")
        session = Session(self._check(spawn), self.folder / secrets.token_hex(8), self._forget)
        with self._lock:
            self.sessions[session.id] = session
        return session

    def _check(self, spawn: Spawn) -> Spawn:
        path = Path(spawn.segment).expanduser().resolve()
        if not any(path.is_relative_to(root) for root in self.roots):
            raise RefusedError(f"{spawn.segment} is not under the folders this server serves")
        if not set(spawn.open_options) <= OPEN_OPTIONS:
            raise RefusedError(f"open options {sorted(spawn.open_options)} are not allowed")
        settings = spawn.settings
        if settings.init is not None:  # a checkpoint of a served folder or an earlier session
            init = Path(settings.init).expanduser().resolve()  # the child reads this one
            if not any(init.is_relative_to(r) for r in [*self.roots, self.folder.resolve()]):
                raise RefusedError(f"{settings.init} is not under the folders this server serves")
            settings = dataclasses.replace(settings, init=init)
        return dataclasses.replace(spawn, segment=str(path), settings=settings)

    def _forget(self, session: Session) -> None:
        with self._lock:
            self.sessions.pop(session.id, None)


class Session:
    """One client's engine: a child process here, its events relayed to whichever
    connection drives it now (none while the client is away)."""

    def __init__(self, spawn: Spawn, folder: Path, forget) -> None:
        self.id = folder.name
        self.folder, self._forget = folder, forget
        folder.mkdir(parents=True)
        self.labels = LabelFiles(spawn.ink, spawn.supervised)
        autosave = spawn.settings.autosave
        settings = dataclasses.replace(spawn.settings, autosave=autosave and self.here(autosave))
        spec = Spec(
            spawn.segment, dict(spawn.open_options), self.labels.folder, spawn.torch_threads
        )
        self.child = spawn_child(spec, settings)
        self._sock: socket.socket | None = None
        self._send_lock = threading.Lock()
        self._state: StateChanged | None = None
        self.child.reader = threading.Thread(target=self._forward_events, daemon=True)
        self.child.reader.start()

    @property
    def alive(self) -> bool:
        return self.child.alive

    def here(self, path) -> Path:
        """Where a file the client named is written on this machine: the session's folder."""
        return self.folder / Path(path).name

    def relay(self, sock: socket.socket, read, peer: str) -> None:
        """Drive the engine with ``sock``'s commands until it closes or sends garbage."""
        with self._send_lock:
            self._sock = sock
            if self._state is not None:  # what the engine does now, for a re-attached client
                self._send(self._state)
        try:
            while True:
                command = read_frame(read)
                if isinstance(command, Fetch):
                    self._send_file(command)
                    continue
                if not isinstance(command, c.Command):
                    raise ProtocolError(f"{type(command).__name__} is not a command")
                if isinstance(command, c.Close):
                    self.end()  # closes the child, as the dock would its own
                    return
                self.child.send(self._localised(command))
        except (ProtocolError, EOFError, OSError) as error:
            log.warning("engine server: %s left session %s: %s", peer, self.id, error)
        except Exception:  # a command with fields of the wrong kind, say
            log.exception("engine server: %s left session %s: its command failed", peer, self.id)
        finally:
            with self._send_lock:
                if self._sock is sock:
                    self._sock = None
            sock.close()

    def end(self) -> None:
        """End the engine and forget the session."""
        self._forget(self)
        end_child(self.child)
        self.labels.remove()

    def _send_file(self, fetch: Fetch) -> None:
        """A file of this session's folder (a checkpoint) to the client, or why not."""
        path = Path(fetch.path).resolve()
        if not (path.is_relative_to(self.folder.resolve()) and path.is_file()):
            message = Failed(f"{fetch.path} is not a file of this session", fetch.request)
        elif path.stat().st_size > MAX_FRAME // 2:  # a model is tens of MB
            message = Failed(f"{path.name} is too large to fetch; copy it", fetch.request)
        else:
            data = np.frombuffer(path.read_bytes(), np.uint8)
            message = Fetched(fetch.request, path.name, data)
        with self._send_lock:
            self._send(message)

    def _localised(self, command: c.Command) -> c.Command:
        if isinstance(command, c.Save):
            return c.Save(self.here(command.path))
        if isinstance(command, c.PredictSegment):
            return dataclasses.replace(command, out=self.here(command.out))
        return command

    def _forward_events(self) -> None:
        while True:
            try:
                message = self.child.events.recv()
            except (EOFError, OSError):
                break
            with self._send_lock:
                if isinstance(message, StateChanged):
                    self._state = message
                self._send(message)
        self.child.process.join()  # the pipe closes when the process ends: this returns soon
        self.child.events.close()
        with self.child.lock:
            self.child.commands.close()
        self.child.alive = False
        with self._send_lock:
            if self._sock is not None:
                self._sock.close()  # the client sees the end as its engine's end
        self._forget(self)

    def _send(self, message) -> None:
        if self._sock is None:
            return  # nobody attached: the preview's tiles are dropped, training goes on
        try:
            frame = encode(message)
        except ProtocolError as error:  # too large: the client hears of it, the relay goes on
            log.error("engine server: session %s: %s", self.id, error)
            frame = encode(
                Failed(f"the engine server could not send a {type(message).__name__}: {error}")
            )
        try:
            self._sock.sendall(frame)
        except OSError as error:
            log.warning("engine server: session %s lost its client: %s", self.id, error)
            self._sock = None


def _send_quietly(sock: socket.socket, message) -> None:
    try:
        sock.sendall(encode(message))
    except OSError as error:
        log.info("engine server: could not say why: %s", error)


def read_token(path: Path) -> str:
    """The token in ``path``, made (random, readable by its owner only) if missing."""
    path = Path(path).expanduser()
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.touch(mode=0o600)
        path.write_text(secrets.token_urlsafe(32) + "\n")
    token = path.read_text().strip()
    if not token:
        raise ValueError(f"{path}: the token file is empty")
    return token
