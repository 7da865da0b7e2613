"""The engine on another machine (`inkloop engine serve`), behind EngineProcess's surface.

`RemoteEngineProcess` is an EngineProcess whose "child" is a session on an engine server:
the same commands, events, waits, label replay and respawn, over one TCP connection in
`_wire` frames instead of two local pipes. A dropped connection looks to the proxy like a
child that ended (a Failed event says why: the server's last word, or the link lost); the
next command that needs the engine re-attaches to the same session, or starts a new one if it
has ended (`_remote_ends`: and says so, as it closes a session left running when it is closed).
While attached the client pings the server every `HEARTBEAT` seconds, and counts a server it
has heard nothing from (not even the answers) for `SERVER_SILENT` seconds as a dropped link;
after `QUIET` seconds of that the user hears that the link may be stalled. A Pause or Stop
asked is sent again on re-attaching until the server's state shows it taken (one asked while
the link was silent may be lost with it).
Each connection begins with `_handshake`: nothing else goes out (no label, no path, not the
session's id) before the server has proved it knows the token.
"""

from __future__ import annotations

import dataclasses
import functools
import logging
import threading
import weakref
from pathlib import Path

import numpy as np

from inkloop.engine import _commands as c
from inkloop.engine._child import ChildHandle
from inkloop.engine._events import Failed, Notice, State, StateChanged
from inkloop.engine._process import EngineProcess, child_location
from inkloop.engine._remote_copies import CheckpointCopies
from inkloop.engine._remote_ends import (
    RemoteChild,
    before_end,
    link_lost,
    link_quiet,
    starting_anew,
)
from inkloop.engine._server import url_refused
from inkloop.engine._sockets import Quiet, SocketConnection
from inkloop.engine._wire import (
    Attach,
    Ping,
    ProtocolError,
    Refused,
    Spawn,
    Welcome,
)
from inkloop.io import is_url

log = logging.getLogger(__name__)
HEARTBEAT = 30.0  # seconds between pings: a server hangs up on a pinging client silent for 120
SERVER_SILENT = 120.0  # seconds with no byte from the server, which answers every ping
QUIET = 45.0  # seconds of that before the user hears the link may be stalled
WELCOME_TIMEOUT = 60.0  # for the answer to a Spawn: the server writes its labels first
# bytes/s: what may still sit in the socket's and ssh's buffers once a send returns goes up
# at least this fast on a link that works, and is waited for on top of WELCOME_TIMEOUT
SLOWEST_UPLINK = 64_000


def parse_address(text: str) -> tuple[str, int]:
    """'HOST:PORT' -> (host, port)."""
    host, _, port = text.strip().rpartition(":")
    if not host or not port.isdigit():
        raise ValueError(f"engine address {text!r} is not HOST:PORT")
    return host, int(port)


def map_path(path: str, path_map: tuple[str, str] | None) -> str:
    """``path`` with the prefix ``path_map[0]`` (this machine's) replaced by ``path_map[1]``
    (the server's): the same data mounted in different places."""
    if not path_map:
        return path
    here, there = (prefix.rstrip("/") for prefix in path_map)
    if path == here or path.startswith(here + "/"):  # /data/a maps, /data/ab does not
        return there + path[len(here) :]
    return path


class RemoteEngineProcess(CheckpointCopies, EngineProcess):
    """An EngineProcess whose engine runs on the engine server at ``address`` ("HOST:PORT"),
    which opens ``segment_path`` (mapped by ``path_map``; a URL: RuntimeError) from its own
    disks. Checkpoints and whole-segment predictions are written there, in its session's folder."""

    def __init__(self, address: str, token: str, segment_path, ink, supervised, *args, **kw):
        self.address = parse_address(address)
        self._token, self.session = token, None
        self._init_copies()
        self._last_heard: tuple[ChildHandle | None, Failed | None] = (None, None)
        self._run_asked: c.Command | None = None  # the last Start, Pause, Resume or Stop
        self._asked_lock = threading.Lock()  # asked on the GUI thread, cleared on the reader's
        self._path_map = kw.pop("path_map", None)
        location = child_location(segment_path, type(self).__name__)
        self._here = location  # the segment as this machine names it
        if is_url(there := map_path(location, self._path_map)):  # its login stays here
            raise RuntimeError(url_refused(location))
        super().__init__(there, ink, supervised, *args, **kw)
        # close() ends the session, and the link with it: a checkpoint saved is fetched first
        self._cleanup.before_end = functools.partial(before_end, weakref.ref(self))

    def _start_child(self, settings) -> ChildHandle:
        connection = SocketConnection.connect(self.address)
        try:
            welcome = self._greet(connection, settings)
            if isinstance(welcome, Refused):  # our session has ended there: a new one, on a
                self._announcer.emit(Notice(starting_anew(welcome, settings.init)))  # new link
                connection.close()
                connection = SocketConnection.connect(self.address)
                welcome = self._greet(connection, settings)
            if welcome.attached and isinstance(self._run_asked, (c.Pause, c.Stop)):
                connection.send(self._run_asked)  # maybe lost with the link: again
        except BaseException:
            connection.close()
            raise
        self.session = welcome.session
        connection.beat(HEARTBEAT, SERVER_SILENT, Quiet(QUIET, self._tell_quiet))
        return ChildHandle(RemoteChild(connection), connection, connection)

    def reattach(self) -> None:
        """Re-attach to the session now if the link has ended, or start a new one there if it
        has ended too, as the next command would (`_respawn`). Round trips, and a new session's
        labels sent: a GUI calls it off its thread, and nothing else of this engine meanwhile."""
        with self._lock:
            if self._closed:
                raise RuntimeError("the engine process is closed")
            if not self._child.alive:
                self._respawn()

    def mute(self) -> None:
        """Tell the listeners nothing more, at once (a re-attach given up: it ends unheard),
        taking no lock (`close` does): a re-attach holds it for a round trip or more."""
        self._announcer.listeners.clear()

    def _submit(self, command: c.Command) -> None:
        if isinstance(command, (c.Start, c.Pause, c.Resume, c.Stop)):
            with self._asked_lock:
                self._run_asked = command
        super()._submit(command)

    def _tell_quiet(self, seconds: float) -> None:
        """Nothing from the server for ``seconds`` (on the heartbeat's thread)."""
        self._announcer.emit(Notice(link_quiet(self.address, seconds, SERVER_SILENT)))

    def _greet(self, connection: SocketConnection, settings) -> Welcome | Refused:
        """The server's Welcome; its Refused if the session we asked for has ended there."""
        try:
            answer = self._ask(connection, settings)
        except (EOFError, OSError) as error:  # proved itself, then hung up: it says why there
            raise RuntimeError(
                "the engine server closed the connection before answering (see its log)"
            ) from error
        if isinstance(answer, Refused) and self.session is not None:
            log.warning("inkloop remote engine: %s; starting a new session", answer.message)
            self.session = None
            return answer
        if isinstance(answer, Refused):
            raise RuntimeError(f"the engine server refused: {answer.message}")
        if not isinstance(answer, Welcome):
            raise ProtocolError(f"expected Welcome, got {type(answer).__name__}")
        return answer

    def _ask(self, connection: SocketConnection, settings):
        """The handshake, then Attach (our session) or Spawn (a new one); the server's answer."""
        connection.authenticate(self._token)
        if self.session is not None:
            sent = connection.send(Attach(self.session))
        else:
            ink, supervised, _ = self._labels.open(self._labels.folder)
            if settings.init is not None:  # e.g. the model beside the segment, mounted there too
                init = Path(map_path(str(settings.init), self._path_map))
                settings = dataclasses.replace(settings, init=init)
            spawn = Spawn(
                self._spec.segment_path,
                self._spec.open_options,
                settings,
                np.asarray(ink),
                np.asarray(supervised),
                self._spec.torch_threads,
            )
            sent = connection.send(spawn)
        # not beating yet: nothing else ends the wait
        return connection.recv_within(round(WELCOME_TIMEOUT + sent / SLOWEST_UPLINK, 1))

    def _receive(self, child: ChildHandle, message) -> None:
        # the server's last word before it hangs up, if the link ends next (`_report_end`)
        said = isinstance(message, Failed) and getattr(message, "request", None) is None
        self._last_heard = (child, message if said else None)
        if isinstance(message, Ping) or self._copies_heard(message):  # Ping: an answer
            return
        if isinstance(message, StateChanged):
            self._heard_taken(message.state)
        super()._receive(child, message)

    def _heard_taken(self, state: State) -> None:
        """The Pause or Stop asked need not be sent again on re-attaching if the server's
        ``state`` shows it taken; unless another was asked meanwhile."""
        asked = self._run_asked
        if _taken(asked, state):
            with self._asked_lock:
                if self._run_asked is asked:
                    self._run_asked = None

    def _report_end(self, child: ChildHandle) -> None:
        """The link ended. A Failed about no request as its last frame is the server's word on
        why the session ended, handed out as it came (a run's own Failed just before the link
        was lost reads so too; nothing else does: the server answers every ping); else the
        link was lost."""
        heard_on, said = self._last_heard
        said = said if heard_on is child else None
        message = child.setup_failure or (said.message if said else link_lost(self.address))
        log.error("inkloop remote engine: %s", message)
        self._copies_lost()
        if said is None:
            self._announcer.emit(Failed(message))
        self._announcer.set_state(State.FAILED)


def _taken(asked: c.Command | None, state: State) -> bool:
    """Whether the server's ``state`` shows the Pause or Stop ``asked`` taken (or moot: the
    run over)."""
    if isinstance(asked, c.Pause):
        return state is not State.TRAINING
    return isinstance(asked, c.Stop) and not state.running
