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
        self._folded = (None, -1, None)  # (trainer, step, its folded model at that step)

    @property
    def training(self) -> bool:
        return self.state is State.TRAINING

    def ensure_trainer(self):
        """The Trainer, built now if it does not exist yet."""
        if self.trainer is None:
            self.trainer = build_trainer(self.settings, self.segment, self.labels, self.mask)
        return self.trainer

    def predictor(self, *, tta: bool = False, frozen: bool = False):
        """The model being trained as a Predictor (see `predictor_for`). While it trains, its
        shared weights: they change every step, and a fold (~0.1 s) costs more than it saves
        on one preview tile. Otherwise, and when ``frozen``, a copy with its BatchNorms folded
        (`inference_graph`), made once a step: views and whole segments after a run predict
        17-20% faster on a CPU."""
        trainer = self.ensure_trainer()
        if self.training and not frozen:
            return predictor_for(self.settings, trainer, tta=tta)
        return predictor_for(self.settings, trainer, tta=tta, model=self._folded_model(trainer))

    def _folded_model(self, trainer):
        from inkloop.predict import inference_graph

        folded_trainer, step, model = self._folded
        if folded_trainer is not trainer or step != trainer.step_count:
            model = inference_graph(trainer.inference_model)
            self._folded = (trainer, trainer.step_count, model)
        return model
