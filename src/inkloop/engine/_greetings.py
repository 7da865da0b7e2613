"""The engine server's side of `_handshake`, for every connection yet to prove it knows the
token: all of them on one thread (`Greeter`), each with `ANSWER_TIMEOUT` to answer.

Why one selector thread: a stranger's connection then costs a socket and a few hundred bytes
here, not a thread, so the places for connections yet to answer can be as many as the file
descriptors allow (`greeting_places`: thousands). With all of them taken, a newcomer lets the
oldest go rather than being turned away, so silent connections held open cannot lock a dock
out; to knock a dock off during its handshake, a stranger must open (and hold) that many
connections within the dock's round trip, faster than this thread accepts them.
"""

from __future__ import annotations

import logging
import math
import selectors
import socket
import threading
import time
from dataclasses import dataclass, field

from inkloop.engine._handshake import HandshakeError, check_answer, new_challenge
from inkloop.engine._refusal_log import RefusalLog
from inkloop.engine._versions import greeting
from inkloop.engine._wire import HELLO_LIMIT, LENGTH, ProtocolError, decode, encode

log = logging.getLogger("inkloop.engine._server")  # one log for the server and its parts
ANSWER_TIMEOUT = 5.0  # seconds a new connection gets to answer the challenge, in all
FD_CEILING = 1 << 16  # the soft limit is raised no higher: some programs close every fd up to it
ACCEPT_BATCH = 64  # connections accepted at a time before the waiting ones are read again


def greeting_places() -> int:
    """How many connections may wait to answer at once: half the file descriptors this process
    may open, once their soft limit is raised towards the hard one (often 1024 and 500000);
    the other half stays for the sessions (sockets, pipes, files)."""
    try:
        import resource
    except ImportError:  # Windows: no such limit; its select() takes 512 sockets
        return 256
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = FD_CEILING if hard == resource.RLIM_INFINITY else min(hard, FD_CEILING)
    if soft != resource.RLIM_INFINITY and soft < wanted:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))
            soft = wanted
        except (ValueError, OSError) as error:
            log.info("engine server: keeps %d file descriptors: %s", soft, error)
    return max(16, min(soft, FD_CEILING) // 2)


@dataclass(eq=False)
class _Caller:
    """A connection yet to answer: the nonce it was sent, its deadline, its answer so far."""

    sock: socket.socket
    peer: str
    nonce: bytes
    deadline: float
    data: bytearray = field(default_factory=bytearray)

    def wanted(self) -> int:
        """Bytes still to read of the answer's frame (never more: nothing after it is ours)."""
        if len(self.data) < LENGTH.size:
            return LENGTH.size - len(self.data)
        (length,) = LENGTH.unpack_from(self.data)
        if length > HELLO_LIMIT:
            raise ProtocolError(f"frame of {length} bytes is over the {HELLO_LIMIT} limit")
        return LENGTH.size + length - len(self.data)


class Greeter:
    """Accepts connections on ``listener`` and greets them (`serve`, until `close`); one that
    proves it knows ``token`` gets the server's proof and goes to ``admit(sock, peer)``
    (blocking again, past the handshake). Any other is closed with a reason (`RefusalLog`: a
    flood is counted, not logged line by line). ``places``:
    connections yet to answer at once (None: `greeting_places`, found as it starts serving)."""

    def __init__(self, listener: socket.socket, token: bytes, admit, places: int | None) -> None:
        self._listener, self._token, self._admit, self.places = listener, token, admit, places
        self._waiting: dict[socket.socket, _Caller] = {}  # in order of arrival, so of deadline
        self._selector = selectors.DefaultSelector()
        self._wake, self._woken = socket.socketpair()
        self._lock = threading.Lock()
        self._closed = self._running = False
        self._resume_accepting: float | None = None  # out of file descriptors until then
        self._refusals = RefusalLog(log)

    def serve(self) -> None:
        """Greet until `close`, on this thread."""
        with self._lock:
            if self._closed:
                return
            self._running = True
        if self.places is None:
            self.places = greeting_places()
        self._listener.setblocking(False)
        self._selector.register(self._listener, selectors.EVENT_READ)
        self._selector.register(self._woken, selectors.EVENT_READ)
        try:
            while not self._closed:
                for key, _ in self._selector.select(self._expire(time.monotonic())):
                    if key.fileobj is self._listener:
                        self._accept()
                    elif key.fileobj is not self._woken:
                        self._read(key.data)
        finally:
            self._shut()

    def close(self) -> None:
        """Stop accepting and greeting; the connections still waiting are closed."""
        with self._lock:
            self._closed, running = True, self._running
        if not running:
            self._shut()
            return
        try:
            self._wake.send(b"x")
        except OSError as error:  # woken already
            log.debug("engine server: %s", error)

    def _shut(self) -> None:
        for caller in list(self._waiting.values()):
            caller.sock.close()
        self._waiting.clear()
        for sock in (self._listener, self._wake, self._woken):
            sock.close()
        self._selector.close()
        self._refusals.summarise(math.inf)  # what is counted still, said

    def _expire(self, now: float) -> float | None:
        """Close the connections past their deadline; seconds until the next one's, or until
        the refusals counted are logged, if sooner."""
        while self._waiting:
            first = next(iter(self._waiting.values()))
            if first.deadline > now:
                break
            self._drop(first, "too slow")
        if self._resume_accepting is not None and self._resume_accepting <= now:
            self._resume_accepting = None
            self._selector.register(self._listener, selectors.EVENT_READ)
        first = next(iter(self._waiting.values()), None)
        counted = self._refusals.summarise(now)
        deadlines = [t for t in (first and first.deadline, self._resume_accepting, counted) if t]
        return max(0.0, min(deadlines) - now) if deadlines else None

    def _accept(self) -> None:
        for _ in range(ACCEPT_BATCH):
            try:
                sock, address = self._listener.accept()
            except BlockingIOError:
                return
            except OSError as error:  # out of file descriptors, say: greet on, accept later
                log.warning("engine server: cannot accept a connection: %s", error)
                self._selector.unregister(self._listener)
                self._resume_accepting = time.monotonic() + 0.5
                return
            self._greet(sock, f"{address[0]}:{address[1]}")

    def _greet(self, sock: socket.socket, peer: str) -> None:
        """Send the challenge before reading a byte, and wait for the answer."""
        challenge, nonce = new_challenge()
        first = encode(greeting()) + encode(challenge)
        caller = _Caller(sock, peer, nonce, time.monotonic() + ANSWER_TIMEOUT)
        if len(self._waiting) >= self.places:
            oldest = next(iter(self._waiting.values()))
            self._drop(oldest, f"let go: the oldest of {self.places} yet to answer at once")
        try:  # a few hundred bytes into a new socket's empty buffer: all go, or an error
            sock.setblocking(False)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)  # no tunnel: a lost peer
            if sock.send(first) != len(first):
                raise OSError("its greeting did not fit in the socket's buffer")
        except OSError as error:
            self._refusals.closed(peer, error, time.monotonic())
            sock.close()
            return
        self._waiting[sock] = caller
        self._selector.register(sock, selectors.EVENT_READ, caller)

    def _read(self, caller: _Caller) -> None:
        try:
            chunk = caller.sock.recv(caller.wanted())
            if not chunk:
                raise EOFError("connection closed")
            caller.data += chunk
            if caller.wanted() == 0:
                self._answered(caller)
        except BlockingIOError:
            return
        except (EOFError, ConnectionError) as error:  # without a word: a probe, a flood
            self._drop(caller, error, level=logging.WARNING if caller.data else logging.DEBUG)
        except (ProtocolError, HandshakeError, OSError) as error:
            self._drop(caller, error)
        except Exception:  # an answer with fields of the wrong kind, say: one conn
            self._drop(caller, "its answer failed", level=logging.ERROR, exc_info=True)

    def _answered(self, caller: _Caller) -> None:
        """Prove ourselves to a caller that proved it knows the token, and hand it on."""
        proof = check_answer(decode(bytes(caller.data[LENGTH.size :])), caller.nonce, self._token)
        frame = encode(proof)
        if caller.sock.send(frame) != len(frame):  # as the greeting: the buffer has room
            raise OSError("the proof did not fit in the socket's buffer")
        self._forget(caller)
        caller.sock.setblocking(True)
        self._admit(caller.sock, caller.peer)

    def _drop(self, caller: _Caller, why, *, level=logging.WARNING, exc_info=False) -> None:
        self._refusals.closed(caller.peer, why, time.monotonic(), level=level, exc_info=exc_info)
        self._forget(caller)
        caller.sock.close()

    def _forget(self, caller: _Caller) -> None:
        if self._waiting.pop(caller.sock, None) is not None:  # once, if handed on already
            self._selector.unregister(caller.sock)
