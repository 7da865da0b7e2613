"""What a training session is set up with, and how its Trainer is made from that."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from inkloop.compose import Composition, sample_normalisation
from inkloop.model import ModelConfig, load_checkpoint
from inkloop.predict import BLOCK, TILE
from inkloop.train import TrainConfig


@dataclass(frozen=True)
class EngineSettings:
    """Everything a session needs besides the segment and the labels.

    With ``init`` (a checkpoint path) the model, composition and normalisation percentiles
    come from the checkpoint and ``composition``/``model`` are ignored.
    """

    composition: Composition = field(default_factory=Composition)
    model: ModelConfig = field(default_factory=ModelConfig)
    train: TrainConfig = field(default_factory=TrainConfig)
    init: Path | None = None
    holdout: tuple[int, int, int, int] | None = None  # validation region y0, x0, y1, x1
    validate_every: int = 50  # steps
    autosave: Path | None = None  # checkpoint written every `autosave_every` s and at the end
    autosave_every: float = 120.0
    provenance: dict = field(default_factory=dict)  # extra facts for the checkpoint
    tile: int = TILE  # prediction tile size in pixels (see Predictor)
    # the most of the engine's time a preview takes from running training (see PreviewSchedule)
    preview_share: float = 0.15
    # pixels per side of a whole-segment prediction's blocks: commands wait for one at most
    block: int = BLOCK

    def build_trainer(self, segment, labels, mask=None):
        """A Trainer for ``segment`` with these settings (loads ``init`` if given); ``mask`` is
        the papyrus mask if it is already in memory."""
        from inkloop.train import Trainer

        init = load_checkpoint(self.init) if self.init else None
        composition = init.composition if init else self.composition
        composition = composition.resolve(segment.shape[0])
        percentiles = init.normalisation.percentiles if init else (1.0, 99.0)
        normalisation = sample_normalisation(
            segment, composition, percentiles=percentiles, mask=mask
        )
        return Trainer(
            segment,
            labels,
            composition,
            normalisation,
            self.train,
            model_config=self.model,
            init=init,
        )

    def checkpoint_provenance(self, segment, labels) -> dict:
        """What a checkpoint records about how it was trained."""
        return {
            "segment": segment.name,
            "segment_path": str(segment.path),
            "segment_layers": segment.shape[0],
            "labels": labels.summary(),
            **self.provenance,
        }

    def predictor(self, trainer, *, tta: bool = False, frozen: bool = False):
        """The model ``trainer`` is training, as a Predictor: its weights shared, or with
        ``frozen`` a copy of them that training leaves alone."""
        import copy

        from inkloop.predict import Predictor

        model = copy.deepcopy(trainer.model) if frozen else trainer.model
        return Predictor(model, trainer.composition, trainer.normalisation, tile=self.tile, tta=tta)
