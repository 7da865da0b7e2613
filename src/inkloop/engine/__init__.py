"""The training session behind the widget and the CLI: a state machine emitting typed events.

`Engine` runs in-process (the CLI); `EngineProcess` runs one in a spawned child process with
the same surface (the widget: torch never enters the napari process).
"""

from inkloop.engine._build import build_trainer, predictor_for, resolve_run
from inkloop.engine._commands import RequestError
from inkloop.engine._engine import Engine
from inkloop.engine._events import (
    CheckpointSaved,
    Composed,
    Event,
    Failed,
    ModelBuilt,
    ModelNotLoaded,
    Notice,
    OrderChecked,
    PredictionReady,
    Ranked,
    Ready,
    RunStarted,
    SegmentPredicted,
    SegmentProgress,
    State,
    StateChanged,
    StepDone,
    Validated,
)
from inkloop.engine._process import EngineProcess
from inkloop.engine._surface import EngineSurface

__all__ = [
    "CheckpointSaved",
    "Composed",
    "Engine",
    "EngineProcess",
    "EngineSurface",
    "Event",
    "Failed",
    "ModelBuilt",
    "ModelNotLoaded",
    "Notice",
    "OrderChecked",
    "PredictionReady",
    "Ranked",
    "Ready",
    "RequestError",
    "RunStarted",
    "SegmentPredicted",
    "SegmentProgress",
    "State",
    "StateChanged",
    "StepDone",
    "Validated",
    "build_trainer",
    "predictor_for",
    "resolve_run",
]
