"""The whole-segment predictions under way on a loop's engine: a new engine (other settings,
another machine) would end them, so the engine stays until they are over."""

from __future__ import annotations

from inkloop._napari._say import say_warning
from inkloop.engine import Failed, Notice, SegmentPredicted

PREDICTING = "the whole segment is being predicted; Cancel it, or let it finish, first"


class WholeSegmentPredictions:
    """The request numbers of the whole-segment predictions the engine in use has under way."""

    def __init__(self) -> None:
        self.requests: set[int] = set()

    @property
    def under_way(self) -> bool:
        return bool(self.requests)

    def keep_engine(self) -> bool:
        """Whether the engine must stay for a prediction under way (the user hears why)."""
        if self.requests:
            say_warning(PREDICTING)
        return self.under_way

    def start(self, engine, out, tta: bool, replace: bool = False) -> int:
        """Queue predicting the whole segment into ``out`` on ``engine``; its request number
        (the events carry it). ``replace`` as `EngineSurface.predict_segment`'s."""
        request = engine.predict_segment(out, tta=tta, replace=replace)
        self.requests.add(request)
        return request

    def follow(self, event) -> None:
        """Let go of the prediction ``event`` ends: done, failed or cancelled."""
        if isinstance(event, (SegmentPredicted, Failed, Notice)):
            self.requests.discard(event.request)

    def lost(self) -> None:
        """The engine died, and all it had under way with it."""
        self.requests.clear()
