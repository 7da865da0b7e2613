"""One engine server session: an engine child process on the server, its events relayed to
whichever connection drives it now (none while the client is away), the files it writes kept
in its own folder. When its engine ends, the client attached (if any) is told why and where its
last checkpoint is, and then hung up on."""

from __future__ import annotations

import dataclasses
import logging
import shutil
import socket
import threading
import time
from pathlib import Path

import numpy as np

from inkloop.engine import _commands as c
from inkloop.engine._child import SetupFailed, Spec, end_child
from inkloop.engine._child_start import spawn_child
from inkloop.engine._events import CheckpointSaved, Failed, StateChanged
from inkloop.engine._labelfiles import LabelFiles
from inkloop.engine._socket_waits import hang_up, hung_up, limit_waits
from inkloop.engine._versions import unreadable_command
from inkloop.engine._wire import (
    MAX_FRAME,
    Fetch,
    Fetched,
    Ping,
    ProtocolError,
    Spawn,
    UnknownMessageError,
    Welcome,
    encode,
    read_frame,
)

log = logging.getLogger("inkloop.engine._server")  # one log for the server and its sessions


class ServedSession:
    """One client's engine: a child process here, its events relayed to whichever
    connection drives it now (none while the client is away). A client that pings is hung
    up on once silent for ``client_silent`` seconds; any client, once an event could not go
    out to it for ``send_timeout`` seconds."""

    def __init__(
        self, spawn: Spawn, folder: Path, forget, *, client_silent: float, send_timeout: float
    ) -> None:
        self.id = folder.name
        self.folder, self._forget = folder, forget
        self.client_silent, self.send_timeout = client_silent, send_timeout
        folder.mkdir(mode=0o700, parents=True)  # its owner's alone, as the token file is
        try:
            self.labels = LabelFiles(spawn.ink, spawn.supervised)
            self.child = self._spawn(spawn)
        except BaseException:  # no room for the labels, no process: nothing left behind
            if hasattr(self, "labels"):
                self.labels.remove()
            shutil.rmtree(folder, ignore_errors=True)
            raise
        self._sock: socket.socket | None = None
        self._send_lock = threading.Lock()
        self._state: StateChanged | None = None
        self._ending = threading.Lock()
        self._ended = False
        self._cause: str | None = None  # what `end` was asked for (None: its client's Close)
        self._checkpoint: str | None = None  # the last one its engine wrote, here
        self._setup_failure: str | None = None  # why it could not start, as it told its client
        self.end_message: str | None = None  # once its engine ended: why, and its checkpoint
        self.left_at = time.monotonic()  # when its client last left: the reaper's clock
        self.child.reader = threading.Thread(target=self._forward_events, daemon=True)
        self.child.reader.start()

    def _spawn(self, spawn: Spawn):
        autosave = spawn.settings.autosave
        settings = dataclasses.replace(spawn.settings, autosave=autosave and self.here(autosave))
        spec = Spec(
            spawn.segment, dict(spawn.open_options), self.labels.folder, spawn.torch_threads
        )
        return spawn_child(spec, settings)

    @property
    def alive(self) -> bool:
        return self.child.alive

    @property
    def attached(self) -> bool:
        """Whether a client drives it now."""
        return self._sock is not None

    def forsaken(self, now: float, after: float) -> bool:
        """No client has driven it for ``after`` seconds, whether its engine trains or not:
        a client that never comes back must not leave it training for ever."""
        return self._sock is None and now - self.left_at > after

    def here(self, path) -> Path:
        """Where a file the client named is written on this machine: the session's folder."""
        return self.folder / Path(path).name

    def attach(self, sock: socket.socket, welcome: Welcome, peer: str) -> None:
        """Make ``sock`` the link that drives the engine: ``welcome`` goes out on it, then what
        the engine does now. One lock orders both, so the link welcomed last is the one that
        drives, however late its relay starts. OSError if ``welcome`` cannot go out, or its
        client has hung up already (gave up waiting for it: as far as `hung_up` can tell); the
        session is then as it was."""
        if hung_up(sock):  # a send would still succeed, and the session outlive the client
            raise ConnectionError("it hung up before it was welcomed")
        sock.settimeout(None)
        limit_waits(sock, send=self.send_timeout)  # a client that stops reading stalls no relay
        with self._send_lock:
            sock.sendall(encode(welcome))
            previous, self._sock = self._sock, sock
            if previous is not None:  # the dock came back before its old link was let go
                log.warning("engine server: %s took session %s over", peer, self.id)
                hang_up(previous)  # its relay ends: commands come from one link only
            if self._state is not None:  # what the engine does now, for a re-attached client
                self._send(self._state)

    def relay(self, sock: socket.socket, read, peer: str) -> None:
        """Drive the engine with ``sock``'s commands (once `attach` made it the session's
        link) until it closes, sends garbage, or (once it has pinged) falls silent."""
        try:
            while True:
                try:
                    command = read_frame(read)
                except UnknownMessageError as error:  # a newer dock's: said, and the link goes on
                    self._cannot_read(error, peer)
                    continue
                if isinstance(command, Ping):
                    self._answer(command, sock)
                    continue
                if isinstance(command, Fetch):
                    self._send_file(command)
                    continue
                if not isinstance(command, c.Command):
                    raise ProtocolError(f"{type(command).__name__} is not a command")
                if isinstance(command, c.Close):
                    self.end()  # closes the child, as the dock would its own
                    return
                self.child.send(self._localised(command))
        except (BlockingIOError, TimeoutError):  # its receive limit, set by its first Ping
            log.warning(
                "engine server: %s left session %s: nothing heard for %g s (gone behind a tunnel?)",
                peer,
                self.id,
                self.client_silent,
            )
        except (ProtocolError, EOFError, OSError) as error:
            log.warning("engine server: %s left session %s: %s", peer, self.id, error)
        except Exception:  # a command with fields of the wrong kind, say
            log.exception("engine server: %s left session %s: its command failed", peer, self.id)
        finally:
            with self._send_lock:
                if self._sock is sock:
                    self._sock = None
                    self.left_at = time.monotonic()
            sock.close()

    def end(self, why: str | None = None) -> None:
        """End the engine and forget the session, once: its client's Close and the server's
        close may come together (the later call waits for the first). ``why``: what ends it,
        told to its client if one is attached (None: that client's own Close)."""
        with self._ending:
            if self._ended:
                return
            self._ended = True
            self._cause = why
            self._forget(self)
            end_child(self.child)
            self.labels.remove()

    def _cannot_read(self, error: UnknownMessageError, peer: str) -> None:
        """Tell the client what of its message this server lacks, as the answer to its
        request if it made one (the frame was read whole: the next one can be read)."""
        log.warning(
            "engine server: %s sent session %s what it cannot read: %s", peer, self.id, error
        )
        with self._send_lock:
            self._send(Failed(unreadable_command(error.what), error.request))

    def _answer(self, ping: Ping, sock: socket.socket) -> None:
        """A client that pings is held to it (an older one is not: it never pings); the
        answer tells it the server is there."""
        limit_waits(sock, receive=self.client_silent)
        with self._send_lock:
            self._send(ping)

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
                elif isinstance(message, CheckpointSaved):
                    self._checkpoint = message.path
                elif isinstance(message, SetupFailed):
                    self._setup_failure = message.message
                self._send(message)
        self.child.reap()
        self.child.alive = False
        self.labels.remove()  # the session ends with its engine: nothing respawns from them
        self._say_ended()
        self._forget(self)

    def _say_ended(self) -> None:
        """Once the engine has ended: tell the client why, then hang up (a client that asked
        for the end, or heard why from the engine itself, is not told); log an end not asked."""
        asked, by_client = self.child.ending, self.child.ending and self._cause is None
        if asked:
            cause = self._cause or "its client closed it"
        elif self._setup_failure is not None:  # its client has the engine's own message
            cause = f"its engine could not start: {self._setup_failure}"
        else:  # killed (by the OOM killer, say) or crashed
            cause = f"its engine process ended (exit code {self.child.process.exitcode})"
        self.end_message = f"{cause}; its last checkpoint there is {self._checkpoint or 'none'}"
        if not asked:
            log.warning("engine server: session %s ended: %s", self.id, self.end_message)
        with self._send_lock:
            if self._sock is not None and not by_client and self._setup_failure is None:
                # the dock's last word from here: it says this, not "lost the connection"
                told = (
                    f"the session on the engine server ended: {self.end_message}. Labels are "
                    "safe here; the next Start, Predict or Save starts a new session"
                )
                self._send(Failed(told))
            if self._sock is not None:  # (unless the Failed found it gone)
                hang_up(self._sock)  # the relay thread wakes and closes it

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
        except (BlockingIOError, TimeoutError):  # the send limit: it stopped reading
            self._drop_client(f"nothing could go out to it for {self.send_timeout:g} s")
        except OSError as error:
            self._drop_client(error)

    def _drop_client(self, why) -> None:
        """Detach the client (under _send_lock), as if it had left: its socket is reset, for a
        frame may have gone out in part; the relay thread wakes and closes it."""
        sock, self._sock = self._sock, None
        self.left_at = time.monotonic()
        log.warning("engine server: session %s lost its client: %s", self.id, why)
        hang_up(sock, abort=True)
