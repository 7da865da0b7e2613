"""How a dock's session on an engine server ends when its link does: what the dock says when
the link falls silent, is lost, and comes back to a session that has ended; and a dock closed
while its link is down ending its session there (`before_end`), which would otherwise train on
with no client (until the server's idle limit). `RemoteChild` stands in for the process."""

from __future__ import annotations

import contextlib
import logging
import threading
import weakref

from inkloop.engine._child import ChildHandle
from inkloop.engine._commands import Close
from inkloop.engine._sockets import SocketConnection, hang_up
from inkloop.engine._wire import Attach, ProtocolError, Refused, Welcome

log = logging.getLogger(__name__)
CLOSE_LEFT_TIMEOUT = 5.0  # seconds to close a session left running, once connected


def link_lost(address: tuple[str, int]) -> str:
    """What a dock says when its link to the server at ``address`` ended with no word."""
    host, port = address
    return (
        f"lost the connection to the engine server {host}:{port}; training may go on there: "
        "the next Start, Predict or Save reconnects to it (or, if that session has ended, "
        "says so and starts a new one). Labels are safe here."
    )


def link_quiet(address: tuple[str, int], seconds: float, silent: float) -> str:
    """What a dock says when it has heard nothing from the server for ``seconds`` (it lets
    the link go after ``silent``)."""
    host, port = address
    return (
        f"no answer from the engine server {host}:{port} for {seconds:.0f} s: the network or "
        "the SSH tunnel may be stalled (check that ssh is still connected); the dock lets the "
        f"link go after {silent:.0f} s. A Pause or Stop clicked meanwhile is sent again when "
        "the dock next reaches the server: on Predict, Save model, Check stack or a Guide "
        "action (Finetune starts the run again instead)"
    )


def starting_anew(refused: Refused, init) -> str:
    """What a dock says when its session has ended on the server (``refused`` says why) and
    a new one starts from the model ``init`` (None: from scratch)."""
    start = f"the model {init}" if init else "scratch: its training begins again at step 1"
    return f"the engine server: {refused.message}. A new session starts from {start}"


def close_left_session(address: tuple[str, int], token: str, session: str) -> None:
    """Attach once to ``session`` on the server at ``address`` and close it, waiting until the
    server hangs up (its engine has ended) for `CLOSE_LEFT_TIMEOUT` at most once connected.
    A server out of reach, or one that has ended the session already, is logged."""
    try:
        connection = SocketConnection.connect(address)
    except RuntimeError as error:
        log.warning("inkloop remote engine: session %s left running: %s", session, error)
        return
    deadline = threading.Timer(CLOSE_LEFT_TIMEOUT, connection.close)  # wakes any wait below
    deadline.start()
    try:
        connection.authenticate(token)
        connection.send(Attach(session))
        answer = connection.recv()
        if not isinstance(answer, Welcome):
            why = answer.message if isinstance(answer, Refused) else type(answer).__name__
            log.info("inkloop remote engine: session %s not closed: %s", session, why)
            return
        connection.send(Close())
        # read until the server hangs up, or the deadline: our Close must not be reset away
        # with frames we left unread
        with contextlib.suppress(EOFError, OSError):
            while True:
                connection.recv()
    except (RuntimeError, ProtocolError, EOFError, OSError) as error:
        log.warning("inkloop remote engine: session %s left running: %s", session, error)
    finally:
        deadline.cancel()
        connection.close()


def before_end(proxy: weakref.ref, child: ChildHandle) -> None:
    """What a proxy being closed does before its session ends (with only a weak reference:
    one dropped unclosed is gone, and nobody here hears of its checkpoints): the checkpoints
    saved are fetched, and a session whose link dropped is closed there."""
    if (owner := proxy()) is not None:
        owner._finish_copies(child)
        if not child.alive and owner.session is not None:  # it may train on there
            close_left_session(owner.address, owner._token, owner.session)


class RemoteChild:
    """What EngineProcess asks of a child's process, for a session on a server."""

    pid = None
    exitcode = None

    def __init__(self, connection: SocketConnection) -> None:
        self._connection = connection

    def join(self, timeout=None) -> None:
        """Nothing to reap here: the session lives on the server."""

    def terminate(self) -> None:
        hang_up(self._connection.sock)

    kill = terminate
