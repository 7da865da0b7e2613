"""What the engine reports: small frozen dataclasses, picklable, so they can cross processes;
and `failed`, the one way a failure becomes a Failed event and a log line."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from enum import StrEnum

import numpy as np

from inkloop._errors import users_error
from inkloop.compose import Composition
from inkloop.engine._commands import Command, Request
from inkloop.settings import CPU_BATCH, TrainConfig

log = logging.getLogger(__name__)


class State(StrEnum):
    IDLE = "idle"
    TRAINING = "training"
    PAUSED = "paused"
    STOPPED = "stopped"
    FINISHED = "finished"
    FAILED = "failed"

    @property
    def running(self) -> bool:
        """A run is under way (training or paused): it has not ended yet."""
        return self in (State.TRAINING, State.PAUSED)


@dataclass(frozen=True)
class StateChanged:
    state: State
    previous: State


@dataclass(frozen=True)
class RunStarted:
    """A training run began at ``step``: the model it trains, on what, in which precision.

    ``encoder`` is the one the model holds (an ``auto`` setting resolved for the device);
    ``precision`` is "float32", or the autocast dtype ("bfloat16", "float16"); ``loader``
    what makes the batches ("a thread", "4 worker processes"), of ``batch_size`` patches;
    ``run`` the run's id, which its checkpoints and round carry (`RunRecord`), and ``init``
    what its model continued from (`inkloop._lineage.init_lineage`; None: a fresh model).
    """

    step: int
    encoder: str
    device: str
    precision: str
    loader: str = "a thread"
    batch_size: int = CPU_BATCH
    run: str | None = None
    init: dict | None = None


@dataclass(frozen=True)
class ModelBuilt:
    """The engine built the model it trains and predicts with: its ``encoder`` and the
    window it reads (``composition``, resolved on this stack). With a loaded checkpoint,
    ``trained_start`` is where the layers it was trained on start in this stack (None: not
    in it, or a fresh model), so a moved window can be told from one as trained, and
    ``train`` the recipe it was trained with (`TrainConfig.with_recipe_of`; None: a fresh
    model), which only the engine can read. ``trained_reversed``: the checkpoint was trained
    on a stack stored back to front; ``reversed_as_trained``: this stack is read back to
    front because the model was trained on it so (its own segment: no tick undoes that).
    ``provenance``: what the checkpoint records of its making (the dock reads there what its
    training held out of the segment's labels, `held_out_by_checkpoint`; None: a fresh model)."""

    encoder: str
    composition: Composition
    trained_start: int | None = None
    train: TrainConfig | None = None
    trained_reversed: bool = False
    reversed_as_trained: bool = False
    provenance: dict | None = None


@dataclass(frozen=True)
class ModelNotLoaded:
    """The checkpoint the engine starts from (``init``) cannot be loaded: not a file it can
    read as an inkloop checkpoint, or weights that do not fit their model. No run can start
    from it; the Failed that follows says why. (A window that does not fit this stack is
    not this: another First layer fixes it.)"""

    init: str


@dataclass(frozen=True)
class WindowRefused:
    """The layers the checkpoint the engine starts from (``init``) was trained on are not in
    this stack (`inkloop.predict._window.WindowNotInStackError`): no run can start from it until
    First layer moves its window; the Failed that follows says why."""

    init: str


@dataclass(frozen=True)
class StepDone:
    step: int
    loss: float
    lr: float
    samples_per_s: float
    batch_size: int
    labels_version: int  # how many label updates this step's batch already saw
    progress: float | None  # fraction of the run's step/time limit, None without one


@dataclass(frozen=True)
class Validated:
    """Scores on the validation region's labelled pixels at the best-F0.5 threshold."""

    step: int
    f05: float
    precision: float
    recall: float
    threshold: float


@dataclass(frozen=True)
class CheckpointSaved:
    """A checkpoint written at ``path``: the run's autosave (while training, at Stop), or a
    save asked for; ``init``: what its weights continued from, as its provenance records it
    (`inkloop._lineage.init_lineage`; None: a fresh model); ``run``: what it records of the
    run that made them, for that run's round (`inkloop._checkpoint_round.run_facts`)."""

    path: str
    step: int
    autosave: bool = False
    init: dict | None = None
    run: dict | None = None


@dataclass(frozen=True)
class Notice:
    """Something the user should be told once, training goes on (e.g. the batch was halved)."""

    message: str
    request: int | None = None  # the request it is about, if any (e.g. one cancelled)


@dataclass(frozen=True)
class Failed:
    """A run or request failed; the message says what happened and what to do."""

    message: str
    request: int | None = None  # the request that failed; None: the run or the process


def failed(what: str, error: Exception, request: Command | int | None = None) -> Failed:
    """Log that ``what`` failed (`log_failure`) and return the Failed event that says so, for
    ``request``: a request number, or the command that failed (a `Request` gives its number,
    any other command none)."""
    if isinstance(request, Command):
        request = request.request if isinstance(request, Request) else None
    log_failure(what, error)
    return Failed(error_message(error), request)


def error_message(error: Exception) -> str:
    """What a Failed event says about ``error``."""
    return str(error) or type(error).__name__


def log_failure(what: str, error: Exception) -> None:
    """Log that ``what`` failed: the user's error (`inkloop._errors.users_error`: their
    labels, settings, files or disk) in one line at INFO (its Failed event is the message they
    see, or, where no listener hears it, a warning: `Announcer.emit`; a terminal would show it
    twice), the traceback of anything else as an ERROR."""
    if users_error(error):
        log.info("%s failed: %s", what, error_message(error))
    else:
        log.error("%s failed", what, exc_info=error)


@dataclass(frozen=True)
class PredictionReady:
    """Part of a requested region is predicted: draw ``probability`` at ``region``.

    Predictions stream tile batch by tile batch, centre first; a pixel's last update holds its
    final value, and the round is complete when ``tiles_done == tiles_total`` (0 of 0: the
    region has no papyrus, ``probability`` is all 0).
    """

    request: int
    region: tuple[int, int, int, int]  # y0, x0, y1, x1 of this update, inside the request's
    step: int  # training step of the weights that made it
    probability: np.ndarray = field(repr=False)  # float32, region-sized, 0..1
    tiles_done: int
    tiles_total: int


@dataclass(frozen=True)
class SegmentProgress:
    """A whole-segment prediction is ``done`` of ``total`` dask tasks (blocks) along."""

    request: int
    done: int
    total: int


@dataclass(frozen=True)
class SegmentPredicted:
    """A whole-segment prediction is written to ``path``."""

    request: int
    path: str
    seconds: float
    step: int  # training step of the weights that made it


@dataclass(frozen=True)
class Composed:
    """The model's input over ``region``: normalised channels, as the model sees them."""

    request: int
    region: tuple[int, int, int, int]  # y0, x0, y1, x1
    channels: np.ndarray = field(repr=False)  # float32 (C, h, w), 0..1 for raw layers and means
    names: tuple[str, ...]  # one per channel: "layer 24", "mean 22-24", "|L25-L24|"


@dataclass(frozen=True)
class Ranked:
    """Boxes to label next, most uncertain first: (score, (y0, x0, y1, x1)) each, scored by
    4 p (1 - p) over their unlabelled papyrus (`inkloop.uncertainty`)."""

    request: int
    boxes: tuple
    step: int  # training step of the weights that ranked them


@dataclass(frozen=True)
class OrderChecked:
    """The share of sampled papyrus the model calls ink, layers forward and reversed."""

    request: int
    forward: float
    reversed: float
    verdict: str  # one line to act on (`inkloop.check.Orientation.verdict`)


@dataclass(frozen=True)
class Ready:
    """The engine process is set up (imports, segment, model) and takes commands."""

    pid: int
    seconds: float  # from spawning to ready


Event = (
    StateChanged
    | RunStarted
    | ModelBuilt
    | ModelNotLoaded
    | WindowRefused
    | StepDone
    | Validated
    | CheckpointSaved
    | Notice
    | Failed
    | PredictionReady
    | SegmentProgress
    | SegmentPredicted
    | Composed
    | Ranked
    | OrderChecked
    | Ready
)
