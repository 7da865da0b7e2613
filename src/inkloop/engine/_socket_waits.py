"""What the engine server and its clients ask of a socket beyond frames: waits limited in one
direction only, and hanging up so that a thread blocked on it wakes."""

from __future__ import annotations

import logging
import socket
import struct
import sys

log = logging.getLogger("inkloop.engine._sockets")


def limit_waits(
    sock: socket.socket, *, receive: float | None = None, send: float | None = None
) -> None:
    """Make a blocking ``sock``'s recv raise OSError (BlockingIOError) once nothing has come
    for ``receive`` seconds, and its send once nothing could go out for ``send`` seconds.
    Unlike ``settimeout``, which limits both, and a whole ``sendall``: a large frame may take
    minutes on a slow link, as long as it moves."""
    for option, seconds in ((socket.SO_RCVTIMEO, receive), (socket.SO_SNDTIMEO, send)):
        if seconds is not None:
            sock.setsockopt(socket.SOL_SOCKET, option, _timeval(seconds))


def _timeval(seconds: float) -> bytes:
    if sys.platform == "win32":  # a DWORD of milliseconds there
        return struct.pack("I", max(1, round(seconds * 1000)))
    whole = int(seconds)
    return struct.pack("ll", whole, round((seconds - whole) * 1e6))


def hang_up(sock: socket.socket, *, abort: bool = False) -> None:
    """Shut ``sock`` down both ways: a thread blocked in its recv or send wakes (close alone
    would leave it blocked, and the peer unaware). ``abort``: once closed, reset rather than
    deliver what is still queued (a half-sent frame to a peer that stopped reading)."""
    try:
        if abort:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        sock.shutdown(socket.SHUT_RDWR)
    except OSError as error:  # closed already
        log.debug("inkloop engine socket: %s", error)


def hung_up(sock: socket.socket) -> bool:
    """Whether the peer of ``sock`` has closed its end or reset it, without waiting: only
    what was queued is looked at, and left there. Not noticed: a close or reset that arrives
    after this look, a close queued behind data the peer sent first, and a peer gone without
    a word (a network down)."""
    timeout = sock.gettimeout()
    sock.setblocking(False)
    try:
        return sock.recv(1, socket.MSG_PEEK) == b""
    except BlockingIOError:  # nothing yet: still there
        return False
    except OSError:  # reset
        return True
    finally:
        sock.settimeout(timeout)
