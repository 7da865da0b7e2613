"""Whether the weights a run goes on from trained on the labels of its validation region: a
region drawn or moved after they trained was not held out of that training, nor one a run
left in (`inkloop train --validation none`), so its F0.5 reads high. Known from the settings
of this session's engines, for the segment's own model from its round (`held_out_behind`),
else from what the model loaded records (`held_out_by_checkpoint`, its provenance as the
engine's ModelBuilt sends it: the dock opens no checkpoint). An own model trained since its
last round (a run napari quit or crashed in) may have seen any region."""

from __future__ import annotations

from pathlib import Path

from inkloop._napari._say import say_warning
from inkloop._napari._trained import TrainedWeights
from inkloop._rounds_held_out import (
    NOT_RECORDED,
    UNRECORDED,
    held_out_by_checkpoint,
    held_out_by_last_run,
    held_out_throughout,
)
from inkloop.settings import EngineSettings

SEEN_REGION = (
    "the model this run goes on from trained while the validation region was not "
    "held out (it was drawn or moved since): it has seen the labels there, so the region's "
    "F0.5 will read high. Model → Clear starts a fresh model for a clean score"
)
RECORDED_RUN_SAW_REGION = (
    "the model this run goes on from has seen the labels of the validation region: its last "
    "round records that its training did not hold the region out (some of it ran before the "
    "region was drawn or moved, or trained on it, as inkloop train --validation none does and "
    "any inkloop train before 2026-12-07 did), so the region's F0.5 will read high. "
    "Model → Clear starts a fresh model for a clean score"
)
LOADED_SAW_REGION = (
    "the model this run goes on from has seen the labels of the validation region: its "
    "checkpoint records training on this segment that did not hold the region out, so the "
    "region's F0.5 will read high. Model → Clear starts a fresh model for a clean score"
)
LOADED_UNRECORDED = (
    f"the model this run goes on from {NOT_RECORDED}. Model → Clear starts a fresh model "
    "for a clean score"
)
UNRECORDED_TRAINING = (
    "the model this run goes on from was trained further after its last recorded "
    "round (napari quit or crashed during that run): whether that training held out the "
    "validation region is not known, so the region's F0.5 may read high. Model → Clear starts "
    "a fresh model for a clean score"
)


class HeldOutWeights(TrainedWeights):
    """`TrainedWeights` that also keep the validation region (None: none) of each engine
    whose training the weights carry: for each model file this session saved, and for one
    whose round said (`know_model`: the segment's own model, continued at a reopen or a switch
    back; UNRECORDED where a run trained it since its round). A model known neither way (one
    loaded; an own model no round vouches for, by its last run alone) is known once the
    engine built it from what its checkpoint records (`model_built`); a fresh model is
    clean."""

    def __init__(self) -> None:
        super().__init__()
        self.behind: dict[Path, tuple] = {}  # a model file's regions, oldest training first
        self.engine_regions: tuple = ()  # the same for the engine made last, its own last
        # how many of those regions, the first, a round told (`know_model`); the rest are this
        # session's engines', each of which held out the region it had
        self.recorded: dict[Path, int] = {}
        self.engine_recorded = 0
        self._told = None  # the region last warned about: each is told once
        self._engine: tuple = (None, None)  # the last engine's init file and region
        # model files whose oldest training is known from a checkpoint's records
        self._loaded: set[Path] = set()

    def know_model(self, path, regions: tuple) -> None:
        """The training behind the model file ``path`` held out ``regions`` (`held_out_behind`:
        () unknown, (None,) nothing)."""
        self.behind[_key(path)] = tuple(regions)
        self.recorded[_key(path)] = len(regions)
        self._loaded.discard(_key(path))

    def next_settings(self, settings: EngineSettings, previous: EngineSettings):
        engine = super().next_settings(settings, previous)
        self._engine = (None if engine.init is None else _key(engine.init), engine.validation)
        self._place_engine()
        return engine

    def model_built(self, provenance: dict | None, segment: str) -> None:
        """The engine made last built its model from a checkpoint whose ``provenance`` this
        is (None: a fresh model): where nothing here says what the training behind that file
        held out of the labels of ``segment`` (its name), the checkpoint's records do; for
        the segment's own model, whose round does not say, those of its last run
        (`held_out_by_last_run`)."""
        init = self._engine[0]
        told = self.behind.get(init)
        if provenance is None or init is None or told:
            return
        if told == ():  # the own model, whose round does not say: as before rounds said
            self.know_model(init, held_out_by_last_run(provenance, segment))
        else:
            self.know_model(init, held_out_by_checkpoint(provenance, segment))
        self._loaded.add(init)
        self._place_engine()

    def _place_engine(self) -> None:
        init, validation = self._engine
        self.engine_regions = (*self.behind.get(init, ()), validation)
        self.engine_recorded = self.recorded.get(init, 0)

    def autosaved(self, path, step: int) -> None:
        super().autosaved(path, step)
        self.behind[_key(path)] = self.engine_regions
        self.recorded[_key(path)] = self.engine_recorded
        if self._engine[0] in self._loaded:  # its oldest training, as the checkpoint said
            self._loaded.add(_key(path))
        else:
            self._loaded.discard(_key(path))

    def held_out(self) -> tuple[int, int, int, int] | None:
        """The pixels whose labels none of the training behind the last engine's weights saw,
        as far as known (its region, narrowed to those of the runs it goes on from); None if
        nothing was held out throughout."""
        return held_out_throughout(self.engine_regions)

    def seen_region(self) -> tuple[int, int, int, int] | None:
        """The region the engine made last scores, if training behind its weights did not
        hold all of it out; else None."""
        *before, region = self.engine_regions or (None,)
        if region is None or all(_inside(region, held) for held in before):
            return None
        return region

    def tell_if_region_seen(self) -> None:
        """Warn, once for each region, that its F0.5 will read high (`seen_region`)."""
        seen = self.seen_region()
        if seen is not None and seen != self._told:
            say_warning(self._why_seen(seen))
        self._told = seen

    def _why_seen(self, region) -> str:
        """Why the training behind the weights saw ``region``: a run since its last round
        (napari quit or crashed in it), or a run that did not hold it out. A run of this
        session held out the region it had, so one that missed this region ran before it
        was drawn or moved; a round's run may have left it in (`inkloop train`)."""
        before = self.engine_regions[:-1]
        if self._engine[0] in self._loaded and before[0] == UNRECORDED:
            return LOADED_UNRECORDED
        if self._engine[0] in self._loaded and not _inside(region, before[0]):
            return LOADED_SAW_REGION
        if UNRECORDED in before:
            return UNRECORDED_TRAINING
        missed = [i for i, held in enumerate(before) if not _inside(region, held)]
        return RECORDED_RUN_SAW_REGION if max(missed) < self.engine_recorded else SEEN_REGION


def _inside(box, outer) -> bool:
    """Whether ``box`` (y0, x0, y1, x1) lies inside ``outer`` (None, UNRECORDED: no box)."""
    if outer is None or outer == UNRECORDED:
        return False
    y0, x0, y1, x1 = box
    return outer[0] <= y0 and outer[1] <= x0 and y1 <= outer[2] and x1 <= outer[3]


def _key(path) -> Path:
    return Path(path).expanduser().absolute()
