"""Engine events collected for tests: wait on conditions over them, never on time."""

from __future__ import annotations

import threading

from inkloop.engine import State, StateChanged, StepDone

TIMEOUT = 120  # generous: CI machines are slow, spawning a torch child too; a hang still fails


class Recorder:
    """Collects events from the engine's thread (or the process proxy's reader thread).

    ``mark()`` and ``since`` let a test look only at the events after its own start, as a
    shared engine's earlier events belong to other tests.
    """

    def __init__(self) -> None:
        self.events: list = []
        self._changed = threading.Condition()

    def __call__(self, event) -> None:
        with self._changed:
            self.events.append(event)
            self._changed.notify_all()

    def mark(self) -> int:
        with self._changed:
            return len(self.events)

    def wait_for(self, predicate, since: int = 0, timeout: float = TIMEOUT) -> list:
        with self._changed:
            ok = self._changed.wait_for(lambda: predicate(self.events[since:]), timeout)
            assert ok, self.events[since:]
            return self.events[since:]

    def of(self, kind) -> list:
        with self._changed:
            return of_kind(kind, self.events)

    def states(self) -> list[State]:
        return [e.state for e in self.of(StateChanged)]


def of_kind(kind, events) -> list:
    return [e for e in events if isinstance(e, kind)]


def steps_done(count):
    """Predicate: at least ``count`` training steps."""
    return lambda events: len(of_kind(StepDone, events)) >= count


def state_reached(state):
    """Predicate: the engine entered ``state``."""
    return lambda events: any(e.state is state for e in of_kind(StateChanged, events))
