"""The preview of what the camera shows while Finetune & preview runs: asked of the engine
when training starts (a fresh model's once its warm-up ends), and again each time panning
pauses."""

from __future__ import annotations

import numpy as np

from inkloop._napari._controls import single_shot
from inkloop.boxes import view_box
from inkloop.engine import PredictionReady, RunStarted, StepDone
from inkloop.engine._jobs import MAX_COMPOSE  # torch-free: the engine imports torch lazily

MAX_PREVIEW = 2048  # pixels per side of the previewed area; a CPU keeps up with about this
PAUSE_MS = 250  # the camera still this long: the view is previewed


class ViewPreview:
    """Keeps the engine of ``loop`` (a LoopSession) predicting the area in view, from
    `start` until `stop`, every ``loop.refresh_s`` while it trains."""

    def __init__(self, loop) -> None:
        self.loop = loop
        self.on = False
        self.region: tuple[int, int, int, int] | None = None  # the area asked for last
        self.request: int | None = None  # its request number
        self._with_training = False  # start when the training does
        self._weights_step = 0  # the training steps of the engine's weights, as last heard
        self._oldest: int | None = None  # the oldest weights in the round under way
        self._after_pause = single_shot(loop, PAUSE_MS, self.update)
        self.camera = getattr(loop.viewer, "scene", loop.viewer).camera  # napari 0.9: .scene
        self.camera.events.center.connect(self._on_camera)
        self.camera.events.zoom.connect(self._on_camera)
        loop.changed.connect(self._follow)

    def start(self) -> None:
        """Preview the view from now on; its centre comes before the next training step."""
        self.on, self.region, self._with_training = True, None, False
        self.update()

    def start_with_training(self) -> None:
        """`start` when the training does (again: a preview that failed has stopped), not
        before: labels that cannot train get their message, not an untrained model's haze.
        Weights with fewer steps than the warm-up's (a fresh model) wait for the step that
        ends it: before, p sits just above 0.5 nearly everywhere, a block of false ink."""
        self._with_training = True

    def training_started(self) -> None:
        """The engine's training started: the preview too, if it waits for it and the
        weights are past warm-up (else at the step that ends it)."""
        if self._with_training and self._weights_step >= self.loop.settings.train.warmup_steps:
            self.start()

    @property
    def warm_up_ends(self) -> int | None:
        """The step at which a fresh model's preview starts, while it waits for it; else None."""
        warm = self.loop.settings.train.warmup_steps
        waiting = self._with_training and not self.on and self._weights_step < warm
        return warm if waiting else None

    def round_step(self, event: PredictionReady) -> int | None:
        """The oldest weights among the tiles of the view's round that ``event`` completes:
        what the whole view shows from then on. None while the round goes on, or for a
        request other than the view's."""
        if event.request != self.request:
            return None
        oldest = event.step if self._oldest is None else min(self._oldest, event.step)
        complete = event.tiles_done == event.tiles_total
        self._oldest = None if complete else oldest
        return oldest if complete else None

    def stop(self) -> None:
        """Ask for nothing more (a new or dead engine): a click starts the preview again."""
        self.on, self.region = False, None

    def update(self) -> None:
        """Ask for the view now, if it is not the area asked for last."""
        engine = self.loop.engine
        if not self.on or engine is None:
            return
        region = self.visible_region()
        if region != self.region:
            self.region, self._oldest = region, None
            self.request = engine.preview(region, every=self.loop.refresh_s)

    def visible_region(self, side: int = MAX_PREVIEW) -> tuple[int, int, int, int]:
        """The image box in view (at most ``side`` pixels per side, around the view's centre)."""
        labels = self.loop.labels
        corners = np.asarray(labels.layer.corner_pixels)[:, -2:]  # in view, clipped
        return view_box(corners, labels.segment.shape[1:], side)

    def compose_region(self) -> tuple[int, int, int, int]:
        """The image box in view whose model input the dock asks for: at most the engine's
        `MAX_COMPOSE` per side, which it refuses above (a limit of the engine's, not the
        preview's `MAX_PREVIEW`, though both are 2048 today)."""
        return self.visible_region(MAX_COMPOSE)

    def close(self) -> None:
        self.camera.events.center.disconnect(self._on_camera)
        self.camera.events.zoom.disconnect(self._on_camera)
        self._after_pause.stop()

    def _follow(self, event) -> None:
        if isinstance(event, RunStarted | StepDone):
            self._weights_step = event.step
        if isinstance(event, StepDone):  # the step that ends a fresh model's warm-up
            self.training_started()

    def _on_camera(self, event=None) -> None:
        self._after_pause.start()  # (re)start: the view is previewed once panning pauses
