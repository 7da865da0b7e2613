"""What the engine's worker shares between its training and its predictions: the data, the
settings, the model being trained, the state, and the listeners it tells."""

from __future__ import annotations

import numpy as np

from inkloop.engine._build import build_trainer, predictor_for
from inkloop.engine._events import State
from inkloop.engine._surface import Announcer
from inkloop.settings import EngineSettings
from inkloop.train import LabelStore


class Session(Announcer):
    """One segment's labels and model on the engine's worker (see `Engine`), with the state
    and listeners of `Announcer`."""

    def __init__(self, segment, labels: LabelStore, settings: EngineSettings) -> None:
        super().__init__()
        self.segment, self.labels, self.settings = segment, labels, settings
        self.mask = None if segment.mask is None else np.asarray(segment.mask)
        self.trainer = None  # built by the first start, prepare, predict or preview

    @property
    def training(self) -> bool:
        return self.state is State.TRAINING

    def ensure_trainer(self):
        """The Trainer, built now if it does not exist yet."""
        if self.trainer is None:
            self.trainer = build_trainer(self.settings, self.segment, self.labels, self.mask)
        return self.trainer

    def predictor(self, *, tta: bool = False, frozen: bool = False):
        """The model being trained as a Predictor (see `predictor_for`)."""
        return predictor_for(self.settings, self.ensure_trainer(), tta=tta, frozen=frozen)
