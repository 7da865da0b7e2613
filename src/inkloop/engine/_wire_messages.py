"""The session messages an engine server and a dock exchange beyond the engine's commands and
events (`_wire` frames them): Spawn or Attach, the server's Welcome or Refused, files fetched,
heartbeats."""

from __future__ import annotations

import dataclasses

import numpy as np

from inkloop import settings


@dataclasses.dataclass(frozen=True)
class Attach:
    """Once both sides proved they know the token (`_handshake`): drive this session."""

    session: str


@dataclasses.dataclass(frozen=True)
class Welcome:
    """The server's answer to a Spawn or an Attach: the session this connection drives."""

    session: str
    attached: bool  # True: an existing session (its engine kept running), False: a new one


@dataclasses.dataclass(frozen=True)
class Spawn:
    """Open ``segment`` on the server and start an engine on these labels and settings."""

    segment: str
    open_options: dict
    settings: settings.EngineSettings
    ink: np.ndarray
    supervised: np.ndarray
    torch_threads: int


@dataclasses.dataclass(frozen=True)
class Refused:
    """The server will not do what was asked (the connection closes after it)."""

    message: str


@dataclasses.dataclass(frozen=True)
class Fetch:
    """Send back the file ``path`` of this session (a checkpoint the server wrote)."""

    request: int
    path: str


@dataclasses.dataclass(frozen=True)
class Fetched:
    """A file of the session, as its bytes."""

    request: int
    name: str
    data: np.ndarray  # uint8


@dataclasses.dataclass(frozen=True)
class Ping:
    """A client's heartbeat while it drives a session, and the server's answer to one."""
