"""Whether the dock's engine autosaves the segment's own model (``<id>_inkloop_model.pt``
beside its labels): not while another window holds the labels (that window's loop autosaves
it), and from the first run after this window took them over."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from inkloop.io import checkpoint_path
from inkloop.settings import EngineSettings


class OwnModelAutosave:
    """The own model's autosave for the loop of ``labels`` (a LabelSession), decided as each
    run's settings are made (`settings_for`): a window refused the labels at its start may
    take them over later (`LabelSession.elsewhere` turns None)."""

    def __init__(self, labels) -> None:
        self.labels = labels
        self.withheld = labels.elsewhere is not None  # at the start: no autosave then
        self.trained_by = -1  # the generation of the last engine that made a training step

    def first(self) -> Path | None:
        """The autosave of the loop's first settings: None while the labels are held elsewhere."""
        return None if self.withheld else checkpoint_path(self.labels.segment)

    def settings_for(self, loop, settings: EngineSettings) -> EngineSettings:
        """``settings`` for ``loop``'s next engine, autosaving the own model where the loop
        withheld it and this window holds the labels now. Not while the engine in use would
        go on (nothing else changed) with steps it trained meanwhile, which no file keeps: a
        new engine would start without them; the next engine made for a change autosaves.
        Settings that autosave elsewhere, or a loop that never withheld it, are left alone."""
        if settings.autosave is not None or not self.withheld or self.labels.elsewhere:
            return settings
        going_on = loop.engine is not None and settings == loop.settings
        if going_on and self.trained_by == loop.generation:
            return settings
        return dataclasses.replace(settings, autosave=checkpoint_path(self.labels.segment))
