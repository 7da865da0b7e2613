"""`inkloop engine serve`: engines for docks on other machines, over TCP.

Each client session is an engine child process here (`spawn_child`, as the dock would start
locally), fed with the commands that arrive and relaying its events back (`_wire` frames).
Each connection begins with the handshake of `_handshake`, on the one thread of `_greetings`:
the server sends its challenge at once, and the client must prove it knows the token within
its `ANSWER_TIMEOUT` (the token itself never crosses the wire). A wrong answer, or a malformed or
oversized frame, closes that connection with a logged reason and the server goes on serving;
a well-formed message naming what this server lacks (a newer dock's: `_versions`) is answered
with what it lacks, a Spawn refused, a command failed with the link kept.
A client past the handshake gets a thread of its own. A segment must lie under the folders the
server was started with; checkpoints and predictions are written in the session's folder
here, whatever path the client named. A new session whose client hung up before its Welcome
(gave up waiting for its engine) ends at once. A dropped connection ends the relay, not the
session: its engine trains on, and the client re-attaches with the session's id. So does a
client that pings (`Ping`) and then falls silent for ``client_silent`` (a laptop gone behind
an SSH tunnel, whose sshd stays up), and one that stops taking events for ``send_timeout``. A
session left with no client for ``idle_timeout``, training or not, ends its engine as a Close
would (its folder stays, with the engine's autosave). A client back for a session that has
ended is told why it ended.
"""

from __future__ import annotations

import dataclasses
import logging
import secrets
import socket
import threading
import time
from pathlib import Path

from inkloop.engine._greetings import Greeter
from inkloop.engine._handshake import check_token
from inkloop.engine._served import ServedSession
from inkloop.engine._server_places import all_taken, engine_threads
from inkloop.engine._versions import unreadable_command
from inkloop.engine._wire import (
    Attach,
    ProtocolError,
    Refused,
    Spawn,
    UnknownMessageError,
    Welcome,
    encode,
    read_frame,
    socket_reader,
)
from inkloop.io import is_url, shown_location

log = logging.getLogger(__name__)
MAX_SESSIONS = 8  # engines at once by default: each is a process of about a GB, sharing the GPU
SPAWN_TIMEOUT = 60.0  # seconds an authenticated client may fall silent while sending its labels
OPEN_OPTIONS = {"z_start", "z_count", "reverse"}  # what a client may ask open_segment for
IDLE_TIMEOUT = 2 * 3600.0  # seconds a session with no client keeps its engine
ENDS_KEPT = 256  # ended sessions whose end a client coming back is told of
CLIENT_SILENT = 120.0  # seconds a pinging client may say nothing: four of its heartbeats
SEND_TIMEOUT = 30.0  # seconds an event may find no room to go out before its client is dropped


class RefusedError(Exception):
    """Why a connection is closed (sent as Refused when the client may learn it)."""


def url_refused(segment: str) -> str:
    """Why an engine server takes no segment at a URL, which is named without its login."""
    return (
        f"{shown_location(segment)}: an engine server opens segments from its own disks, not "
        "URLs: open a copy of this segment from a folder the server has under its --root "
        "(Paths maps this machine's folder to the server's), or run the engine on this machine"
    )


class EngineServer:
    """Serve engine sessions on ``host``:``port`` (0: any free port) for segments under
    ``roots``; ``folder`` holds the sessions' checkpoints and predictions. A session with
    no client for ``idle_timeout`` seconds, training or not, is ended; ``max_sessions``
    engines run at once at most; ``client_silent`` and ``send_timeout``: see `ServedSession`."""

    def __init__(
        self,
        roots,
        token: str,
        folder: Path,
        *,
        host="127.0.0.1",
        port=0,
        idle_timeout: float = IDLE_TIMEOUT,
        max_sessions: int = MAX_SESSIONS,
        client_silent: float = CLIENT_SILENT,
        send_timeout: float = SEND_TIMEOUT,
    ) -> None:
        if not token:
            raise ValueError("the engine server needs a token")
        self.roots = [Path(r).expanduser().resolve() for r in roots]
        self.token, self.folder = token.encode(), Path(folder)
        self.sessions: dict[str, ServedSession] = {}
        self._ends: dict[str, str] = {}  # session id -> why it ended, the latest `ENDS_KEPT`
        self._lock = threading.Lock()
        # a long queue: under a flood of connections a dock's waits there, not dropped
        listener = socket.create_server((host, port), backlog=socket.SOMAXCONN)
        self.address = listener.getsockname()[:2]
        self._closed = threading.Event()
        self.idle_timeout, self.max_sessions = idle_timeout, max_sessions
        self._limits = {"client_silent": client_silent, "send_timeout": send_timeout}
        # its places: `greeting_places` once it serves, unless a number is set before
        self.greeter = Greeter(listener, self.token, self._admit, places=None)
        self._starting = 0  # engines being started, counted against MAX_SESSIONS

    def serve_forever(self) -> None:
        """Accept and greet connections on this thread until `close`; each client past the
        handshake is served on a thread of its own."""
        threading.Thread(target=self._reap_forsaken, daemon=True).start()
        self.greeter.serve()

    def close(self) -> None:
        """Stop accepting and end every session's engine."""
        self._closed.set()
        self.greeter.close()
        with self._lock:
            sessions, self.sessions = list(self.sessions.values()), {}
        for session in sessions:
            session.end("the engine server was shut down")

    def _reap(self, now: float) -> None:
        """End the sessions forsaken at ``now`` (`ServedSession.forsaken`)."""
        with self._lock:  # gone from the list first: a dock coming back now finds none
            idle = [s for s in self.sessions.values() if s.forsaken(now, self.idle_timeout)]
            for session in idle:
                del self.sessions[session.id]
        for session in idle:
            why = f"no client for {self.idle_timeout / 3600:.3g} h"
            session.end(why)
            log.warning(
                "engine server: session %s ended: %s; its files stay in %s",
                session.id,
                why,
                session.folder,
            )

    def _reap_forsaken(self) -> None:
        while not self._closed.wait(min(60.0, self.idle_timeout / 4)):
            self._reap(time.monotonic())

    def _admit(self, sock: socket.socket, peer: str) -> None:
        """A client past the handshake: served on a thread of its own."""
        try:
            threading.Thread(target=self._handle, args=(sock, peer), daemon=True).start()
        except RuntimeError as error:  # no thread to be had
            log.warning("engine server: %s closed: %s", peer, error)
            sock.close()

    def _handle(self, sock: socket.socket, peer: str) -> None:
        session = self._greet(sock, peer)
        if session is None:
            sock.close()
            return
        log.info("engine server: %s drives session %s", peer, session.id)
        session.relay(sock, socket_reader(sock), peer)

    def _greet(self, sock: socket.socket, peer: str) -> ServedSession | None:
        """The session a client past the handshake drives, once it has sent its Spawn or
        Attach; None, logged, if not."""
        try:
            sock.settimeout(SPAWN_TIMEOUT)  # its labels may take a while on a slow link
            request = read_frame(socket_reader(sock))
            session = self._session_for(request)
            attached = isinstance(request, Attach)
            try:
                session.attach(sock, Welcome(session.id, attached=attached), peer)
            except OSError:
                if not attached:
                    session.end("its client left before it was welcomed")  # none would drive it
                raise
            return session
        except RefusedError as reason:
            log.warning("engine server: %s refused: %s", peer, reason)
            _send_quietly(sock, Refused(str(reason)))
        except UnknownMessageError as error:  # a newer dock's Spawn: it shows why, once
            log.warning("engine server: %s refused: %s", peer, error)
            _send_quietly(sock, Refused(unreadable_command(error.what)))
        except (ProtocolError, EOFError, OSError) as error:
            log.warning("engine server: %s closed: %s", peer, error)  # and nothing said
        except Exception:  # a well-formed message with fields of the wrong kind, say
            log.exception("engine server: %s closed: its request failed", peer)
        return None

    def _session_for(self, request) -> ServedSession:
        if isinstance(request, Attach):
            with self._lock:
                session = self.sessions.get(request.session)
                if session is not None:  # not reaped while its client attaches
                    session.left_at = time.monotonic()
                ended = self._ends.get(request.session)
            if session is not None and session.alive:
                return session
            ended = (session and session.end_message) or ended  # said, if not yet forgotten
            if ended is None:
                raise RefusedError(f"no session {request.session} here (its engine ended)")
            raise RefusedError(f"session {request.session} has ended: {ended}")
        if not isinstance(request, Spawn):
            raise ProtocolError(f"expected Spawn or Attach, got {type(request).__name__}")
        with self._lock:  # a place for the engine, kept while it starts (seconds)
            if len(self.sessions) + self._starting >= self.max_sessions:
                sessions, now = self.sessions.values(), time.monotonic()
                raise RefusedError(all_taken(self.max_sessions, sessions, self.idle_timeout, now))
            self._starting += 1
            engines = len(self.sessions) + self._starting
        try:
            threads = engine_threads(engines)
            session = self._start(dataclasses.replace(self._check(request), torch_threads=threads))
            log.info(
                "engine server: session %s: its engine gets %d torch threads", session.id, threads
            )
        except BaseException:
            with self._lock:
                self._starting -= 1
            raise
        with self._lock:
            self._starting -= 1
            self.sessions[session.id] = session
        return session

    def _start(self, spawn: Spawn) -> ServedSession:
        """A new session's engine; RefusedError, which the client sees, if this machine
        cannot start one (its session folder unwritable, no process to be had)."""
        folder = self.folder / secrets.token_hex(8)
        try:
            return ServedSession(spawn, folder, self._forget, **self._limits)
        except OSError as error:
            raise RefusedError(f"the server cannot start an engine: {error}") from None

    def _check(self, spawn: Spawn) -> Spawn:
        if is_url(spawn.segment):  # a dock refuses it before it connects; an older one did not
            raise RefusedError(url_refused(spawn.segment))
        path = Path(spawn.segment).expanduser().resolve()
        if not any(path.is_relative_to(root) for root in self.roots):
            raise RefusedError(f"{spawn.segment} is not under the folders this server serves")
        if not set(spawn.open_options) <= OPEN_OPTIONS:
            raise RefusedError(f"open options {sorted(spawn.open_options)} are not allowed")
        settings = spawn.settings
        if settings.init is not None:  # a checkpoint of a served folder or an earlier session
            init = Path(settings.init).expanduser().resolve()  # the child reads this one
            if not any(init.is_relative_to(r) for r in [*self.roots, self.folder.resolve()]):
                where = shown_location(settings.init)
                raise RefusedError(f"{where} is not under the folders this server serves")
            settings = dataclasses.replace(settings, init=init)
        return dataclasses.replace(spawn, segment=str(path), settings=settings)

    def _forget(self, session: ServedSession) -> None:
        """``session`` is ending (and again once ended): gone from the list, why kept."""
        with self._lock:
            self.sessions.pop(session.id, None)
            if session.end_message is not None:
                self._ends[session.id] = session.end_message
                if len(self._ends) > ENDS_KEPT:
                    del self._ends[next(iter(self._ends))]  # the oldest


def _send_quietly(sock: socket.socket, message) -> None:
    try:
        sock.sendall(encode(message))
    except OSError as error:
        log.info("engine server: could not say why: %s", error)


def read_token(path: Path) -> str:
    """The token in ``path``, made (random, readable by its owner only) if missing;
    TokenFileError if others may read the file or the token is short (`check_token`)."""
    path = Path(path).expanduser()
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.touch(mode=0o600)
        path.write_text(secrets.token_urlsafe(32) + "\n")
    token = path.read_text().strip()
    check_token(path, token)
    return token
