"""Starting a loop's engine process without decoding the whole label canvas on the GUI thread:
the labels are decoded and written as the engine's files (1.2 GB at full size) on the label
worker (`LabelWorker`); the engine is made on the GUI thread once they are, and strokes
painted meanwhile are sent to it then. An engine server's is made on a thread of its own
(`_connect`: round trips, and its labels encoded and sent), and handed to the GUI thread; so
is one whose link ended, re-attached (`reattach`)."""

from __future__ import annotations

import functools
import logging
import threading
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass, field

from inkloop._napari._say import say_error
from inkloop._napari._start_work import reattached, remove_files, run, unwanted, written_labels
from inkloop.engine import EngineProcess, Failed, ModelBuilt, State, StateChanged
from inkloop.settings import EngineSettings

log = logging.getLogger(__name__)

STARTING_ENGINE = "Starting the engine (importing torch: a few seconds)…"
STARTING_RUN = "Starting the run…"
REATTACH_FAILED = "could not reconnect to the engine server (the next command tries again)"


def connecting(address: str) -> str:
    """What the dock says while it connects to the engine server at ``address``."""
    return f"Connecting to the engine server {address}…"


def still_connecting(address: str) -> str:
    """What a command that needs the engine says while the dock connects to ``address``."""
    return f"still connecting to the engine server {address}…: try again once connected"


@dataclass(frozen=True)
class RunStarting:
    """On `LoopSession.changed`: Finetune & preview waits for the engine to begin the run,
    ``text`` saying for what; ``text`` None: the wait is over (the run began, or did not and
    a message said why)."""

    text: str | None


@dataclass(frozen=True)
class EngineConnecting:
    """On `LoopSession.changed`: the dock connects to the engine server at ``address`` (None:
    no longer: connected, failed or given up)."""

    address: str | None


@dataclass
class PendingStart:
    """An engine start waiting for its labels to decode: the ``settings`` it starts with,
    the boxes painted since they were asked for, what waits for the engine."""

    settings: EngineSettings
    labels: Future  # the engine's LabelFiles
    engine: Future | None = None  # an engine server's engine, being connected to
    lost: EngineProcess | None = None  # a server's engine whose link ended, re-attaching
    dropped: bool = False  # given up: its engine, if made, is closed unheard
    painted: list[tuple[int, int, int, int]] = field(default_factory=list)
    then: list[Callable[[], None]] = field(default_factory=list)


class EngineStarts:
    """Makes the engines of ``loop`` (a LoopSession), one start under way at most, and says
    when a run waits for one (``waiting``)."""

    def __init__(self, loop) -> None:
        self.loop = loop
        self.pending: PendingStart | None = None
        self.waiting = False  # a run waits for the engine to begin it
        self._said: str | None = None  # what it waits for
        self._view_after: int | None = None  # the engine whose loaded model shows the view

    def begin(self, settings: EngineSettings) -> None:
        """Start an engine with ``settings`` on the labels as they are now."""
        labels = self.loop.labels.worker.submit(written_labels, done=self._decoded)
        self.pending = PendingStart(settings, labels)

    def reattach(self) -> None:
        """Re-attach the loop's engine, if a server's whose link ended, on a thread of its own
        as a first connect: the loop has no engine meanwhile."""
        loop, lost = self.loop, self.loop.engine
        if loop.remote is None or lost is None or lost.alive or self.pending is not None:
            return
        kept = Future()  # no label files to write: the engine has its own
        kept.set_result(None)
        self.pending = start = PendingStart(lost.settings, kept, lost=lost)
        loop.engine = None
        self._connect(start, None)

    def then(self, action: Callable[[], None]) -> None:
        """Call ``action`` once the engine is made (now, if it is; a server's whose link
        ended re-attaches first)."""
        self.reattach()
        if self.pending is not None:
            self.pending.then.append(action)
        else:
            action()

    def wait_for_run(self) -> None:
        """Say that a run waits for the engine to begin it (until `follow` hears it did)."""
        remote, pending = self.loop.remote, self.pending
        if remote is not None and pending is not None and pending.engine is not None:
            self._say(connecting(remote.address))
        else:
            self._say(STARTING_RUN if self.loop.ready else STARTING_ENGINE)

    def follow(self, generation: int, event) -> None:
        """The wait is over once the engine in use answers the Start: the run began, or
        failed saying why (a respawned process's IDLE is not an answer). A loaded model
        shows the view once its engine built it; one that failed to set up shows none (a
        preview would only fail again, and say so twice)."""
        failed = isinstance(event, Failed) and event.request is None
        moved = isinstance(event, StateChanged) and event.state is not State.IDLE
        if generation != self.loop.generation:
            return
        if moved or failed:
            self._say(None)
        if generation == self._view_after and (failed or isinstance(event, ModelBuilt)):
            self._view_after = None
            if not failed:
                self.loop.view.start()

    def warm_on_first_stroke(self) -> None:
        """Start an engine at the first stroke if none runs or starts by then (a segment
        opened only to look at starts none); once."""
        self.loop.labels.painter.labels_changed.connect(self._first_stroke)

    def drop(self) -> bool:
        """Give up the start under way, if any; whether there was one."""
        pending, self.pending = self.pending, None
        if pending is not None:
            pending.dropped = True
        if pending is not None and pending.lost is not None:  # re-attaching: heard no more
            pending.lost.mute()
        if pending is not None and pending.engine is not None:  # connecting: not this one's
            unheard = functools.partial(unwanted, pending.lost, pending.labels)
            pending.engine.add_done_callback(unheard)
            self.loop.changed.emit(EngineConnecting(None))
        elif pending is not None and not pending.labels.cancel():  # being decoded already
            pending.labels.add_done_callback(remove_files)
        self._say(None)
        return pending is not None

    def connecting_to(self) -> str | None:
        """The address of the engine server the start under way is connecting to, or will once
        its labels are decoded (minutes through a slow tunnel: `finish` would wait); None if
        none, or if its connect is done."""
        pending, remote = self.pending, self.loop.remote
        if remote is None or pending is None:
            return None
        return None if pending.engine is not None and pending.engine.done() else remote.address

    def finish(self) -> None:
        """Make the engine of the start under way now (waiting for its labels if need be):
        ``loop.engine``, or a message saying why not."""
        start, self.pending = self.pending, None
        loop = self.loop
        try:
            labels = start.labels.result()
        except (ValueError, OSError) as error:  # napari's own label codes; no room for them
            return self._failed(error)
        except BaseException:
            self._say(None)
            raise
        engine = None
        try:
            if loop.remote is None:
                engine = self._maker(start, labels)()
            else:  # needed at once (a request number): the connect is waited for
                engine = self._connect(start, labels).result()
        except (OSError, RuntimeError) as error:  # a server unreachable, a spawn failed: say so
            log.exception("the engine did not start")
            self._take(start.lost, start)  # one whose link ended stays: the next command tries
            return self._failed(error, start.lost is not None)
        finally:
            if engine is None and start.lost is None:  # the label files are no engine's
                remove_files(start.labels)
            if start.engine is not None:
                loop.changed.emit(EngineConnecting(None))
        self._take(engine, start)
        if start.lost is not None and not engine.alive:  # its new link ended already
            return self._lost_again()
        if self.waiting:  # connected: the server's engine starts now
            self._say(STARTING_ENGINE)
        # trained weights (a checkpoint) show the view once built; a fresh model's haze waits
        shown = start.settings.init is not None and start.lost is None
        self._view_after = loop.generation if shown else None
        for action in start.then:
            action()

    def _take(self, engine: EngineProcess | None, start: PendingStart) -> None:
        """``engine`` (None: none) in use, the strokes painted during ``start`` sent to it: one
        whose link ended records them, and its next re-attach replays them."""
        self.loop.engine = engine
        for box in start.painted:
            self.loop.send_labels(box)

    def _lost_again(self) -> None:
        """The engine just re-attached lost its link before the GUI thread took it, and said
        so (a Failed): lost as one in use is (its FAILED, heard while the loop had no engine,
        applied again); what waited for it does not run, and the next command re-attaches."""
        loop = self.loop
        loop._apply(loop.generation, StateChanged(State.FAILED, loop.state))
        self.give_up()

    def close(self) -> None:
        """Drop the start under way (a decode begun ends on the label worker, unheeded)."""
        self.loop.labels.painter.labels_changed.disconnect(self._first_stroke)  # if there
        self.drop()

    def _first_stroke(self, box) -> None:
        self.loop.labels.painter.labels_changed.disconnect(self._first_stroke)
        if self.loop.engine is None and self.pending is None:
            self.loop.warm_up()

    def _maker(self, start: PendingStart, labels) -> Callable:
        """What makes the engine of ``start`` on the label files ``labels``, reporting to the
        loop: bound now, on the GUI thread (a server's is made on a thread of its own, and
        tells nothing once its start was dropped; one whose link ended is re-attached)."""
        if start.lost is not None:
            return functools.partial(reattached, start.lost)
        loop = self.loop
        report = functools.partial(loop.event_received.emit, loop.generation)
        args = (loop.labels.segment.path, None, None, start.settings)
        if loop.remote is None:
            kw = {"torch_threads": loop.torch_threads, "label_files": labels}
            return functools.partial(EngineProcess, *args, report, **kw)

        def heard(event) -> None:
            if not start.dropped:
                report(event)

        # the server opens the segment, trains, keeps checkpoints
        return functools.partial(loop.remote.engine, *args, heard, label_files=labels)

    def _say(self, text: str | None) -> None:
        """`RunStarting` on the loop's ``changed``, when the wait begins or ends."""
        if self.waiting != (text is not None) or (text and text != self._said):
            self.waiting, self._said = text is not None, text
            self.loop.changed.emit(RunStarting(text))

    def _decoded(self, labels: Future) -> None:
        """A start's labels are decoded (GUI thread): make its engine (a server's: begin
        connecting), unless the start was dropped or its engine made already (needed at once)."""
        start = self.pending
        if start is None or start.labels is not labels:
            return
        if self.loop.remote is None or labels.exception() is not None:
            self.finish()
        else:
            self._connect(start, labels.result())

    def _connect(self, start: PendingStart, labels) -> Future:
        """The engine of ``start`` on the loop's server, being made on a thread of its own
        (begun now, unless it was)."""
        if start.engine is None:
            start.engine = Future()
            args = (start.engine, self._maker(start, labels))
            threading.Thread(target=run, args=args, name="inkloop-connect", daemon=True).start()
            self.loop.labels.worker.when_done(start.engine, self._connected)
            self.loop.changed.emit(EngineConnecting(self.loop.remote.address))
            if self.waiting:
                self._say(connecting(self.loop.remote.address))
        return start.engine

    def _connected(self, engine: Future) -> None:
        """A server's engine is made, or could not be (GUI thread): take it, unless its start
        was dropped or it was taken already (needed at once)."""
        if self.pending is not None and self.pending.engine is engine:
            self.finish()

    def give_up(self) -> None:
        """End the wait for a run that did not start (a message said why)."""
        self._say(None)

    def _failed(self, error: Exception, reattaching: bool = False) -> None:
        failed = REATTACH_FAILED if reattaching else "the engine did not start"
        say_error(f"{failed}: {error}")
        self.give_up()
