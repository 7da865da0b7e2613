"""The panels' commands to a loop's engine (`LoopSession`'s). An engine whose link dropped
re-attaches to its engine server with the next command that needs it, off the GUI thread as
a first connect (`EngineStarts.reattach`: a new session if its own ended); meanwhile the
command is not waited for, the user is told to try again once connected (a Start runs then).
If the server cannot be reached again (a stalled SSH tunnel, the server gone), the dock says
so once, in its own words, and nothing is lost: the run does not start, no save, ranking,
stack check or input preview is asked."""

from __future__ import annotations

import logging
from collections.abc import Callable

from inkloop._napari._engine_start import still_connecting
from inkloop._napari._say import say_error, say_info

log = logging.getLogger(__name__)
NOT_STARTED = "the engine did not start (the message above says why)"
KEPT_TO_PREDICT = (
    "the model diverged: its engine stays only to finish the whole-segment prediction under "
    "way; Cancel it or wait, then try again"
)


class EngineCommands:
    """LoopSession's commands to its ``engine`` (made by ``warm_up`` where one is needed)."""

    def pause(self) -> None:
        if self.engine is not None:
            self.engine.pause()

    def resume(self) -> None:
        if self.engine is not None:
            self.engine.resume()

    def stop(self) -> None:
        if self.engine is not None:
            self.engine.stop()

    def save_checkpoint(self, path) -> bool:
        """Have the engine write its model to ``path``; False, said, if it cannot be reached."""
        if not self.engine_there():
            return False
        return self._reached(self.engine.save, path, failed="the model was not saved")

    def predict_segment(self, out, tta: bool = False, replace: bool = False) -> int:
        """Queue predicting the whole segment into ``out`` (`EngineSurface.predict_segment`);
        its request number (the events carry it). ValueError if ``out`` cannot be written,
        RuntimeError if the engine cannot be reached (its message says why, or that it was)."""
        if (missing := self._engine_missing()) is not None:
            raise RuntimeError(missing)
        return self.whole_segment.start(self.engine, out, tta, replace)

    def cancel(self, request: int) -> None:
        """Cancel the whole-segment prediction ``request`` of the engine in use."""
        if self.engine is not None:
            self.engine.cancel(request)

    def rank(self, box: int, tiles: int, seed: int = 0) -> int | None:
        """Queue ranking boxes by the model's doubt (`EngineSurface.rank`); a Ranked event
        with the returned request number follows (None: not asked, `_asked`)."""
        if not self.engine_there():
            return None
        return self._asked(self.engine.rank, box, tiles, seed)

    def check_order(self) -> int | None:
        """Queue reading the stack forward and reversed with the model (OrderChecked follows;
        None: not asked, `_asked`)."""
        if not self.engine_there():
            return None
        return self._asked(self.engine.check_order)

    def compose_view(self) -> int | None:
        """Queue reading the model's input in view, at most the engine's `MAX_COMPOSE` per side
        (a Composed event with the request number returned follows; None: not asked, `_asked`);
        a run keeps its settings."""
        if not self.state.running:
            self.warm_up()
        if not self.engine_there():
            return None
        return self._asked(self.engine.compose, self.view.compose_region())

    def _engine_missing(self) -> str | None:
        """None once an engine process with the current settings is there, made now if there
        is none: the caller needs it at once (a request number), so its labels' decode is
        waited for, but not a server's connect, nor its re-attach once its link ended. Else
        what to tell the user: still connecting, or `NOT_STARTED` (the start failed, or the
        link re-attached ended before it was taken, and said why). A diverged engine is not
        asked."""
        if self.trained.engine_ends and self.engine is not None:
            return KEPT_TO_PREDICT
        self.starts.reattach()
        if self.engine is None and self.starts.pending is None:
            self.warm_up(self.settings)
        if (address := self.starts.connecting_to()) is not None:
            return still_connecting(address)
        if self.starts.pending is not None:
            self.starts.finish()
        if self.remote is not None and self.engine is not None and not self.engine.alive:
            return NOT_STARTED  # its new link ended too, said: the next command re-attaches
        return None if self.engine is not None else NOT_STARTED

    def engine_there(self) -> bool:
        """Whether the engine is there to ask now (`_engine_missing`); if not, the user heard
        why, once."""
        missing = self._engine_missing()
        if missing is not None and missing != NOT_STARTED:
            say_info(missing)
        return missing is None

    def _reached(self, command: Callable, *args, failed: str) -> bool:
        """Whether ``command(*args)`` went to the engine; if it could not be sent (a link
        that ended just now, re-attached in place and failing), the user is told (``failed``:
        what did not happen)."""
        try:
            command(*args)
        except (RuntimeError, OSError) as error:
            log.warning("the engine was not reached: %s", error)
            say_error(f"{failed}: {error}")
            return False
        return True

    def _asked(self, command: Callable[..., int], *args) -> int | None:
        """The request number of ``command(*args)``; None if the engine was not reached
        (`_reached`: said once, nothing asked)."""
        requests: list[int] = []
        asked = self._reached(
            lambda: requests.append(command(*args)), failed="the model could not be asked"
        )
        return requests[0] if asked else None
