"""Which weights the dock's next engine starts from: the model chosen, or what this
session's engines trained since."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from inkloop.settings import EngineSettings

KEPT = ("model", "composition", "init")  # while these stay, what was trained carries over


class TrainedWeights:
    """Where this session's engines saved what they trained (their autosave), and whether
    the next engine carries it over."""

    def __init__(self) -> None:
        self.saved: Path | None = None
        self.starting_over = False  # the next engine leaves what was trained behind

    def autosaved(self, path: str | Path) -> None:
        self.saved = Path(path)

    def forget(self) -> None:
        """What was trained stays out of the next engine (it runs elsewhere, say)."""
        self.saved = None

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

    def next_settings(self, settings: EngineSettings, previous: EngineSettings) -> EngineSettings:
        """``settings`` starting from the weights saved last, where they carry over from
        ``previous`` (`carries_over`)."""
        if not self.carries_over(settings, previous):
            self.saved = None
        self.starting_over = False
        return dataclasses.replace(settings, init=self.saved) if self.saved else settings
