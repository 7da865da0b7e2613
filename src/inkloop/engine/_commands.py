"""What the engine is asked to do: small frozen dataclasses, the mirror of `_events`.

`Engine` queues them for its worker, which dispatches each by its type; `EngineProcess` sends
them down the pipe to its child (our own spawned process, never the network). A `Request`
carries the number its events will carry.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np


class RequestError(ValueError):
    """What a request asks cannot be done (a region off the segment, an output that would
    replace a file the session reads, a model with nothing learnt): the caller's to fix, told
    in its Failed event, not a bug of the engine's."""


@dataclass(frozen=True)
class Command:
    """Any engine command."""


@dataclass(frozen=True)
class Start(Command):
    """Start (or continue) training."""


@dataclass(frozen=True)
class Pause(Command):
    pass


@dataclass(frozen=True)
class Resume(Command):
    pass


@dataclass(frozen=True)
class Stop(Command):
    """End the run after the step in flight."""


@dataclass(frozen=True)
class Prepare(Command):
    """Build the model and trainer now."""


@dataclass(frozen=True)
class Save(Command):
    path: Path


@dataclass(frozen=True)
class Cancel(Command):
    """End the whole-segment prediction ``request``."""

    request: int


@dataclass(frozen=True)
class Close(Command):
    """End the worker; ``orphaned``: the parent process went away without closing."""

    orphaned: bool = False


@dataclass(frozen=True)
class Request(Command):
    """A command whose events (and Failed, if it fails) carry its ``request`` number."""

    request: int


@dataclass(frozen=True)
class Predict(Request):
    region: tuple[int, int, int, int]


@dataclass(frozen=True)
class Preview(Request):
    region: tuple[int, int, int, int] | None  # None: stop previewing
    every: float = 3.0


@dataclass(frozen=True)
class PredictSegment(Request):
    out: Path
    tta: bool = False
    replace: bool = False  # the user confirmed replacing a file at ``out`` inkloop did not write


@dataclass(frozen=True)
class Compose(Request):
    region: tuple[int, int, int, int]


@dataclass(frozen=True)
class Rank(Request):
    """Rank ``box``² boxes of ``tiles`` random papyrus tiles by the model's uncertainty."""

    box: int = 256
    tiles: int = 24
    seed: int = 0


@dataclass(frozen=True)
class CheckOrder(Request):
    """Count the ink the model finds on ``tiles`` random papyrus tiles, forward and reversed."""

    tiles: int = 6


@dataclass(frozen=True)
class UpdateLabels(Command):
    """Label update ``number`` of an engine process (its child applies them in order)."""

    number: int
    bbox: tuple[int, int, int, int]
    ink: np.ndarray = field(repr=False)
    supervised: np.ndarray = field(repr=False)


@dataclass(frozen=True)
class Wait(Command):
    """Answer `Waited(token, done)` once the engine is idle, or after ``timeout`` s."""

    token: int
    timeout: float | None = None


# what a dead engine process is respawned for (the rest mean nothing to a process that ended)
RESPAWNING = (Start, Predict, Preview, PredictSegment, Compose, Rank, CheckOrder, Save)
