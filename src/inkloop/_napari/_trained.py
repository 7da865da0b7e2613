"""Which weights the dock's next engine starts from: the model chosen, or what this
session's engines trained since."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from inkloop.engine._training import FINITE
from inkloop.settings import EngineSettings
from inkloop.train._divergence import LOWER_THE_RATE  # no torch

KEPT = ("model", "composition", "init")  # while these stay, what was trained carries over
DIVERGED = "training diverged"  # in each divergence's message (`inkloop.train._divergence`)


class TrainedWeights:
    """Where this session's engines saved what they trained (their autosave), and whether
    the next engine carries it over."""

    def __init__(self) -> None:
        self.saved: Path | None = None
        self.saved_step: int | None = None  # the step ``saved`` holds
        self.starting_over = False  # the next engine leaves what was trained behind
        self.unusable = False  # the engine's weights diverged: the next engine reloads
        self.held = False  # ...but are finite and saved nowhere: the engine stays for a Save

    @property
    def engine_due(self) -> bool:
        """Whether the next run needs a new engine, even with the same settings."""
        return self.starting_over or self.unusable

    @property
    def engine_ends(self) -> bool:
        """Whether the engine in use ends: it diverged, and holds no weights saved nowhere."""
        return self.unusable and not self.held

    def autosaved(self, path: str | Path, step: int) -> None:
        self.saved, self.saved_step = Path(path), step

    def forget(self) -> None:
        """What was trained stays out of the next engine (it runs elsewhere, say)."""
        self.saved = self.saved_step = None

    def diverged(self, said: str, step: int | None) -> str:
        """The engine's run diverged after ``step`` (None: it made none): no run or preview
        goes on from it, the next engine starts from the last autosave, or from where
        training started. Weights the engine says are `FINITE` (an older engine server, or
        a scan that failed, does not) that no autosave holds at ``step`` are `held` until
        saved. What the dock says after the engine's ``said``: that, and the way out (the
        lower learning rate named once)."""
        self.unusable = True
        self.held = FINITE in said and step not in (None, self.saved_step)
        keep = f"step {step} is saved nowhere: Save model… now to keep it; " if self.held else ""
        start = f"{self.saved.name}, which holds step {self.saved_step}" if self.saved else None
        rate = "set it" if LOWER_THE_RATE in said else LOWER_THE_RATE
        return (
            f"{said}; {keep}the next run starts again from "
            f"{start or 'where this training started'}: "
            f"{rate} (Model → Advanced) first, or Clear to start a fresh model"
        )

    def start_over(self) -> None:
        """The next engine starts from the model chosen (``settings.init``, or new weights):
        the same file chosen again, or Clear after a fresh model."""
        self.starting_over = True

    def carries_over(self, settings: EngineSettings, previous: EngineSettings) -> bool:
        """Whether what was trained with ``previous`` goes on in a run with ``settings``: the
        model, its input and the model chosen to start from stay, and no start over was asked."""
        return not self.starting_over and all(
            getattr(settings, k) == getattr(previous, k) for k in KEPT
        )

    def next_init(self, settings: EngineSettings, previous: EngineSettings) -> Path | None:
        """The model the next engine loads (`next_settings`, which this does not change)."""
        return self.saved if self.saved and self.carries_over(settings, previous) else settings.init

    def next_settings(self, settings: EngineSettings, previous: EngineSettings) -> EngineSettings:
        """``settings`` starting from the weights saved last, where they carry over from
        ``previous`` (`carries_over`)."""
        if not self.carries_over(settings, previous):
            self.saved = self.saved_step = None
        self.starting_over = self.unusable = self.held = False
        return dataclasses.replace(settings, init=self.saved) if self.saved else settings
