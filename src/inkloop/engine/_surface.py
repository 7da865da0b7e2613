"""The one surface of the engine, in a thread (`Engine`) or in a child process
(`EngineProcess`), and the state-and-listeners part both share."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Protocol

import numpy as np

from inkloop.engine._events import Event, Failed, State, StateChanged

log = logging.getLogger(__name__)


class EngineSurface(Protocol):
    """What callers (the CLI, the dock, benchmarks) may ask of an engine.

    Every request returns its number, which the events it causes carry; events reach the
    listeners on a thread of the engine's, never the caller's.
    """

    @property
    def state(self) -> State: ...

    def subscribe(self, listener: Callable[[Event], None]) -> None: ...

    def start(self) -> None: ...

    def pause(self) -> None: ...

    def resume(self) -> None: ...

    def stop(self) -> None: ...

    def update_labels(self, ink: np.ndarray, supervised: np.ndarray, bbox) -> None: ...

    def predict(self, region: tuple[int, int, int, int]) -> int: ...

    def preview(self, region: tuple[int, int, int, int] | None, every: float = 3.0) -> int: ...

    def predict_segment(
        self, out: str | Path, fmt: str | None = None, tta: bool = False, replace: bool = False
    ) -> int: ...

    def cancel(self, request: int) -> None: ...

    def compose(self, region: tuple[int, int, int, int]) -> int: ...

    def rank(self, box: int = 256, tiles: int = 24, seed: int = 0) -> int: ...

    def check_order(self, tiles: int = 6) -> int: ...

    def save(self, path: str | Path) -> None: ...

    def wait(self, timeout: float | None = None) -> bool: ...

    def close(self) -> None: ...


class Announcer:
    """An engine's state and listeners; ``changed`` is notified on every state change (and by
    the owner whenever something its ``wait`` waits for changes)."""

    def __init__(self) -> None:
        self.listeners: list[Callable[[Event], None]] = []
        self.state = State.IDLE
        self.changed = threading.Condition()

    def set_state(self, state: State) -> None:
        """Take ``state`` and tell the listeners if it is a change."""
        with self.changed:
            previous, self.state = self.state, state
            self.changed.notify_all()
        if state is not previous:
            self.emit(StateChanged(state, previous))

    def emit(self, event: Event) -> None:
        """Hand ``event`` to every listener; one that raises is logged, not fatal. A Failed
        that no listener hears is logged as a WARNING: a script that subscribed to nothing
        must still learn that a save or a prediction failed (`log_failure` logs the user's
        errors at INFO, which Python does not show)."""
        listeners = list(self.listeners)
        if not listeners and isinstance(event, Failed):
            request = "" if event.request is None else f" request {event.request}:"
            log.warning("inkloop engine:%s %s", request, event.message)
        for listener in listeners:
            try:
                listener(event)
            except Exception:  # a broken listener must not take the engine down with it
                log.exception("inkloop engine: listener %r failed on %r", listener, event)
