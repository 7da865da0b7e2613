"""The training session behind the widget and the CLI: a state machine emitting typed events."""

from inkloop.engine._engine import Engine
from inkloop.engine._events import (
    CheckpointSaved,
    Event,
    Failed,
    Notice,
    PredictionReady,
    State,
    StateChanged,
    StepDone,
    Validated,
)
from inkloop.engine._settings import EngineSettings

__all__ = [
    "CheckpointSaved",
    "Engine",
    "EngineSettings",
    "Event",
    "Failed",
    "Notice",
    "PredictionReady",
    "State",
    "StateChanged",
    "StepDone",
    "Validated",
]
