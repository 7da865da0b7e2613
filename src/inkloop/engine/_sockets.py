"""The client's end of a connection to an engine server (`SocketConnection`), which proves
itself to the server and has the server prove itself too (`_handshake`) before it says anything
else, pings it while it drives a session, and says what of the server's messages it cannot
read. Waits limited one way, and hanging up: `_socket_waits`."""

from __future__ import annotations

import logging
import socket
import threading
import time
from collections.abc import Callable
from contextlib import contextmanager
from typing import NamedTuple

from inkloop.engine import _handshake, _versions
from inkloop.engine._events import Notice
from inkloop.engine._socket_waits import hang_up, limit_waits
from inkloop.engine._wire import (
    HELLO_LIMIT,
    Ping,
    ProtocolError,
    UnknownMessageError,
    encode,
    read_frame,
    socket_reader,
)

log = logging.getLogger(__name__)
CONNECT_TIMEOUT = 10.0  # seconds to reach a server, and then for its greeting and its proof


class SocketConnection:
    """`multiprocessing.Connection`'s send/recv/close over a socket, in `_wire` frames."""

    def __init__(self, sock: socket.socket, name: str = "") -> None:
        self.sock = sock
        self.name = name or "{}:{}".format(*sock.getpeername()[:2])  # HOST:PORT, for messages
        self._lock = threading.Lock()
        self._heard = _Heard(sock)
        self._read_exactly = socket_reader(self._heard)
        self._closed = threading.Event()
        self._silent: float | None = None  # the receive limit, once beating
        self._untold: list[str] = []  # what the user is to hear of the server's messages
        self._unreadable: set[str] = set()  # what the server sent that this dock cannot read

    @classmethod
    def connect(cls, address: tuple[str, int]) -> SocketConnection:
        try:
            sock = socket.create_connection(address, timeout=CONNECT_TIMEOUT)
        except OSError as error:
            raise RuntimeError(
                f"cannot reach the engine server {address[0]}:{address[1]}: {error}"
            ) from error
        sock.settimeout(None)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
        return cls(sock, "{}:{}".format(*address))

    def authenticate(self, token: str) -> None:
        """Prove to the server that we know ``token`` and have it prove that it does too
        (`_handshake`), each within `CONNECT_TIMEOUT`; if either fails, RuntimeError in one
        line that says what the server may be. Send nothing before this returns."""
        with self._deadline(CONNECT_TIMEOUT) as read:
            try:
                self._prove_both_ways(read, token)
            except (RuntimeError, OSError) as error:
                if self._closed.is_set():  # by a deadline of the caller's: its wait is over
                    raise RuntimeError(self._gave_up()) from error
                raise

    def _prove_both_ways(self, read, token: str) -> None:
        """`authenticate`, reading through ``read``."""
        where = f"the engine server {self.name}"
        try:
            first = read_frame(read, HELLO_LIMIT)  # FOR_OLDER_DOCKS: what a dock from before reads
            challenge = read_frame(read, HELLO_LIMIT)
        except ProtocolError as error:
            raise RuntimeError(
                f"{where} did not greet as one does ({error}): not an inkloop engine server"
            ) from error
        except (EOFError, ConnectionError) as error:  # at once: no server would hang up so
            raise RuntimeError(
                f"nothing answered behind {self.name} (it hung up before any greeting): is "
                "`inkloop engine serve` running there? (an SSH tunnel accepts connections even "
                "when nothing listens at its far end)"
            ) from error
        except OSError as error:  # most often a stalled tunnel; an older server waits for a Hello
            raise RuntimeError(
                f"{self.stalled(CONNECT_TIMEOUT)}; a server older than this dock, or something "
                "that is not an inkloop engine server, also stays silent"
            ) from error
        if (skew := _versions.skew(first)) is not None:
            log.warning("inkloop remote engine: %s", skew)
            self._untold.append(skew)
        try:
            answer, ours = _handshake.answer(challenge, token)
        except _handshake.HandshakeError as error:
            raise RuntimeError(f"{where} {error}") from error
        self.send(answer)
        try:
            _handshake.check_proof(read_frame(read, HELLO_LIMIT), challenge, ours, token)
        except (_handshake.HandshakeError, ProtocolError, EOFError, OSError) as error:
            raise RuntimeError(
                f"{where} did not prove it knows the token ({_why(error)}): a wrong token, "
                "the server turning connections away, or not an inkloop engine server on that "
                "port (if the token is right, see its log)"
            ) from error

    def recv_within(self, seconds: float):
        """The next message, or RuntimeError (`stalled`) if it has not come whole within
        ``seconds``: for an answer due at once, before `beat` watches the link."""
        with self._deadline(seconds) as read:
            try:
                return read_frame(read)
            except TimeoutError as error:
                raise RuntimeError(self.stalled(seconds)) from error

    @contextmanager
    def _deadline(self, seconds: float):
        """A `socket_reader` that gives up ``seconds`` from now; the socket's timeout, which
        it changes, is put back after."""
        timeout = self.sock.gettimeout()
        try:
            yield socket_reader(self.sock, deadline=time.monotonic() + seconds)
        finally:
            if not self._closed.is_set():  # a closed socket has no timeout to put back
                self.sock.settimeout(timeout)

    def _gave_up(self) -> str:
        return f"no answer from the engine server {self.name} before this dock stopped waiting"

    def stalled(self, seconds: float) -> str:
        """What nothing heard from the server for ``seconds`` most often means."""
        return (
            f"nothing came back from the engine server {self.name} within {seconds:g} s: the "
            "network or the SSH tunnel may be stalled (check that ssh is still connected)"
        )

    def send(self, message) -> int:
        """Send ``message``; its length in bytes (some may still be in buffers on the way)."""
        frame = encode(message)
        with self._lock:
            self.sock.sendall(frame)
        return len(frame)

    def recv(self):
        """The server's next message. Once the link drives a session (`beat`), what the user
        is to hear of the server's inkloop comes first, as Notices: that it differs from this
        dock's, what it sent that this dock cannot read (a field left out, a message skipped:
        the link goes on, for the server proved itself)."""
        while not (self._untold and self._silent is not None):
            dropped: list[str] = []
            try:
                message = self._read(dropped)
            except UnknownMessageError as error:
                self._cannot_read(error.what)
                continue
            for what in dropped:
                self._cannot_read(what)
            return message
        return Notice(self._untold.pop(0))

    def _cannot_read(self, what: str) -> None:
        """The server sent ``what`` (a type, field or value) this dock lacks: said once."""
        if what not in self._unreadable:
            self._unreadable.add(what)
            self._untold.append(_versions.unreadable_event(what))
            log.warning("inkloop remote engine: %s", self._untold[-1])

    def _read(self, dropped: list[str]):
        try:
            return read_frame(self._read_exactly, dropped=dropped)
        except UnknownMessageError:
            raise
        except ProtocolError as error:  # the server never sends these: the link is broken
            log.error("inkloop remote engine: %s", error)
            raise EOFError(str(error)) from error
        except (BlockingIOError, TimeoutError) as error:  # the receive limit of `beat`
            log.error("inkloop remote engine: nothing from the server for %g s", self._silent)
            raise EOFError("the engine server fell silent") from error
        except OSError as error:
            if self._closed.is_set():  # closed here while it waited: not the server's doing
                raise EOFError(self._gave_up()) from error
            raise

    def beat(self, every: float, silent: float, quiet: Quiet | None = None) -> None:
        """Ping the server every ``every`` seconds, from a thread that ends with the
        connection; `recv` ends the link once nothing has come for ``silent`` seconds. With
        ``quiet`` (seconds, what to call), that thread calls it once nothing has come for those
        seconds, once in each silence; time this process did not run (stopped, its laptop's lid
        closed) is not the server's silence."""
        self._silent = silent
        self._heard.at = time.monotonic()  # the handshake and the Welcome are no silence
        limit_waits(self.sock, receive=silent)
        name = "inkloop-engine-heartbeat"
        args = (every, quiet)
        threading.Thread(target=self._beat, args=args, name=name, daemon=True).start()

    def close(self) -> None:
        self._closed.set()
        hang_up(self.sock)  # a heartbeat stuck sending to a server that stopped reading wakes
        self.sock.close()

    def _beat(self, every: float, quiet: Quiet | None) -> None:
        ping_at, told_of = time.monotonic(), None  # the silence told of (when it began)
        running = ping_at  # since when this process has run: a silence it slept through is its own
        while not self._closed.is_set():
            now = time.monotonic()
            if now >= ping_at:
                try:
                    self.send(Ping())
                except OSError as error:  # the reader sees the end too, and reports it
                    log.info("inkloop remote engine: heartbeat ends: %s", error)
                    return
                ping_at = now + every
            wake = ping_at
            if quiet is not None and told_of != (heard := max(self._heard.at, running)):
                if now - heard >= quiet.seconds:
                    told_of = heard
                    quiet.tell(now - heard)
                else:
                    wake = min(wake, heard + quiet.seconds)
            self._closed.wait(asked := max(0.0, wake - now))
            if quiet is not None and time.monotonic() - now - asked > quiet.seconds:
                running = time.monotonic()  # it overslept by a silence: the process was stopped


class Quiet(NamedTuple):
    """After ``seconds`` with nothing from the server, ``tell`` how long it has been."""

    seconds: float
    tell: Callable[[float], None]


class _Heard:
    """A socket's recv, noting when a byte last came (``at``, `time.monotonic`): a large
    frame arriving slowly is no silence."""

    def __init__(self, sock: socket.socket) -> None:
        self._sock, self.at = sock, time.monotonic()

    def recv(self, count: int) -> bytes:
        data = self._sock.recv(count)
        self.at = time.monotonic()
        return data


def _why(error: Exception) -> str:
    """What a server did, as ``error`` shows it, in a few words."""
    if isinstance(error, TimeoutError):
        return "it said nothing"
    if isinstance(error, (EOFError, ConnectionError)):
        return "it hung up"
    return str(error)
