"""The "Model" section of the dock: save/load checkpoints, what the next run starts from, and
the advanced model and training settings (`ModelSettings`)."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from qtpy.QtCore import Qt, Signal
from qtpy.QtWidgets import QFileDialog, QGroupBox, QHBoxLayout, QVBoxLayout, QWidget

from inkloop._napari._collapsible import fold_button, unfold
from inkloop._napari._controls import ElidedLine, StatusLabel, button
from inkloop._napari._model_settings import ModelSettings
from inkloop._napari._say import say_error, say_info
from inkloop.checkpoint import CHECKPOINT_SUFFIXES, same_file, unreadable_checkpoint
from inkloop.engine import (
    CheckpointSaved,
    ModelBuilt,
    ModelNotLoaded,
    RunStarted,
    State,
    StateChanged,
    StepDone,
)
from inkloop.io import check_writable, checkpoint_path
from inkloop.settings import EngineSettings, TrainConfig

MODEL_FILES = f"inkloop model ({' '.join(f'*{suffix}' for suffix in CHECKPOINT_SUFFIXES)})"
FRESH = "A fresh model"
FRESH_MODEL = f"{FRESH} (see Advanced)"
LOADED = "Continues from the loaded model"  # named on the line below
OWN = "Continues from this segment's model"  # trained on it before: `checkpoint_path`
IN_USE_IDLE = "In use: shown when training starts"
ADVANCED_TIP = (
    "Encoder, depth, output stride, patch and batch size, learning rate, augmentation and "
    "device of the next run"
)
TRAINED = "Continues from this session's training (step {step})"
TRAINED_TIP = (
    "The next run goes on with the weights trained in this session, while the model settings "
    "and the layers it reads stay; Clear starts a fresh model"
)
LEFT_BEHIND = "{start}: the training so far (step {step}) does not fit the model or layers now"
LEFT_BEHIND_TIP = (
    "Choose the model settings and layers it was trained with again to go on with it; a new "
    "run's first save keeps it beside, under another name (said then)"
)
# no file name is worked out now: a run going on may save over that model before the next
# run's first save, which names the kept file by the model's last save then (and says it)
KEPT = (
    "the next run does not start from {own}: at its first save, that model is kept "
    "beside it as {stem}.saved-<date>-<time>{suffix} (the run names the file then)"
)
NOT_LOADED = (
    "the engine cannot load {name}, so the next run trains a fresh model "
    "(Model → Load… chooses another)"
)
RECIPE = "the next run continues {name} with its training recipe: {taken}"


class ModelPanel(QGroupBox):
    """Model checkpoints and the model/training settings of the next run (see `apply`)."""

    #: the checkpoint the next run continues from (a Path), or None for a fresh model; also
    #: when the same one is chosen again (its weights, not those trained since, come next)
    checkpoint_changed = Signal(object)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("Model", parent)
        self.loop = None
        self.init: Path | None = None
        self._saving: set[Path] = set()  # paths asked for whose CheckpointSaved is due
        self._trained_step: int | None = None  # this session's training, continued where it fits
        self._recipe_due = False  # the chosen model's recipe comes when its engine built it
        self.save_button = button("Save model…", "save_model_button", "Write the current model")
        self.load_button = button(
            "Load model…", "load_model_button", "Continue from a saved model in the next run"
        )
        # beside Clear, what the next run starts from takes two lines; under both, the file
        # it continues from takes the panel's width (own models differ in their segment id
        # and their ending), elided: kept, nothing jumps, a long name does not widen
        self.checkpoint_label = StatusLabel("checkpoint_label", lines=2)
        self.checkpoint_file = ElidedLine(Qt.TextElideMode.ElideLeft)  # see show_next_start
        self.checkpoint_file.setObjectName("checkpoint_file")
        policy = self.checkpoint_file.sizePolicy()
        policy.setRetainSizeWhenHidden(True)
        self.checkpoint_file.setSizePolicy(policy)
        self.clear_button = button(
            "Clear", "clear_model_button", "Back to a fresh model: the next run starts anew"
        )
        self.in_use_label = StatusLabel("in_use_label", IN_USE_IDLE)
        self.in_use_label.setToolTip("What the engine trains: the encoder an auto setting chose")
        self.advanced = fold_button("Advanced", "advanced_button", ADVANCED_TIP)
        self.body = ModelSettings()
        self.body.changed.connect(self.show_next_start)
        self._lay_out()
        self._connect()
        self.show_settings(EngineSettings())
        self._show_advanced(False)
        self.set_loop(None)

    def set_loop(self, loop) -> None:
        """Save through ``loop`` (a LoopSession); None: saving is disabled."""
        if self.loop is not None:
            self.loop.changed.disconnect(self._show_event)
        self.loop = loop
        self._saving.clear()
        self.in_use_label.setText(IN_USE_IDLE)
        self._trained_step = loop.last_step.step if loop and loop.last_step else None
        if loop is not None:
            loop.changed.connect(self._show_event)
        self.save_button.setEnabled(loop is not None)
        self.show_next_start()

    def apply(self, settings: EngineSettings) -> EngineSettings:
        """``settings`` with this panel's model, training and checkpoint choices."""
        return dataclasses.replace(self.body.apply(settings), init=self.init)

    def show_settings(self, settings: EngineSettings) -> None:
        """Show ``settings``' model, training and checkpoint choices in the controls."""
        self.body.show_settings(settings)
        self._set_init(settings.init)
        self._recipe_due = False  # these settings are the choice, not a recipe to come

    def load_model(self, path: str | Path) -> bool:
        """Let the next run continue from the checkpoint at ``path``; False (said) if it is
        none, or one that cannot be read (as far as napari can tell without torch)."""
        path = Path(path).expanduser()
        if not path.is_file():
            say_error(f"No model loaded: {path} is not a file")
            return False
        if problem := unreadable_checkpoint(path):
            say_error(f"No model loaded: {path} cannot be read ({problem})")
            return False
        self._set_init(path, chosen=True)
        return True

    def clear_model(self) -> None:
        """Go back to a fresh model with this panel's settings, also after training one."""
        self._set_init(None, chosen=True)

    def save_model(self, path: str | Path) -> bool:
        """Have the engine write the current model to ``path`` (``.pt`` added if missing)."""
        path = Path(path).expanduser()
        path = path if path.suffix else path.with_suffix(".pt")
        try:
            check_writable(path)
        except ValueError as error:
            say_error(f"Model not saved: {error}")
            return False
        self._saving.add(path.resolve())
        if not self.loop.save_checkpoint(path):  # said why
            self._saving.discard(path.resolve())  # a later checkpoint there is not this one
            return False
        return True

    def _lay_out(self) -> None:
        layout = QVBoxLayout(self)
        files = QHBoxLayout()
        files.addWidget(self.save_button)
        files.addWidget(self.load_button)
        starts = QHBoxLayout()
        starts.addWidget(self.checkpoint_label, 1)
        starts.addWidget(self.clear_button)
        start = QVBoxLayout()  # the file right under what the next run starts from
        start.setSpacing(0)
        start.addLayout(starts)
        start.addWidget(self.checkpoint_file)
        layout.addLayout(files)
        layout.addLayout(start)
        layout.addWidget(self.in_use_label)
        layout.addWidget(self.advanced)
        layout.addWidget(self.body)

    def _connect(self) -> None:
        self.advanced.toggled.connect(self._show_advanced)
        self.save_button.clicked.connect(self._choose_save)
        self.load_button.clicked.connect(self._choose_load)
        self.clear_button.clicked.connect(self.clear_model)

    def _show_advanced(self, shown: bool) -> None:
        unfold(self.advanced, self.body, shown)

    def _set_init(self, path: Path | None, chosen: bool = False, tell_kept: bool = True) -> None:
        changed = chosen or path != self.init
        self.init = path
        if chosen:  # the next run starts from the model chosen, not from what was trained
            self._trained_step = None
            self._recipe_due = path is not None
            self.body.forget_recipe()
            if tell_kept:
                self._tell_kept(path)
        self.body.follow_loaded_model(path is not None)
        self.show_next_start()
        if changed:
            self.checkpoint_changed.emit(path)

    def _tell_kept(self, start: Path | None) -> None:
        """Say where the segment's own model goes when a run that starts from ``start`` (a
        fresh model: None) first saves over it (`Training`, in the engine, keeps it)."""
        own = self.loop.settings.autosave if self.loop is not None else None
        if own is None or not own.is_file() or (start is not None and same_file(start, own)):
            return
        say_info(KEPT.format(own=own.name, stem=own.stem, suffix=own.suffix))

    def _show_state(self, state: State) -> None:
        """A run paused or over: the next continues from it. A new engine (the engine moved
        elsewhere): its model is built at the next start, what was trained maybe left behind."""
        trained = self.loop.trained
        if state is State.IDLE:
            self.in_use_label.setText(IN_USE_IDLE)
        if (state is State.IDLE and trained.saved is None) or trained.unusable:
            self._trained_step = trained.saved_step  # diverged: the step its file holds
        self.show_next_start()

    def show_next_start(self) -> None:
        """Say what the next run starts from, as the dock's choices stand now: this session's
        training where it fits them, else the loaded model, else a fresh one."""
        label, path, step = self.checkpoint_label, self.init, self._trained_step
        start, named = (self._continued(path), path) if path else (FRESH, None)
        if step is None or self.loop.trained.starting_over:  # what was trained was let go
            label.setText(start if path else FRESH_MODEL)
            label.setToolTip(str(path or ""))
        elif self.loop.trained.carries_over(self.loop.next_settings(), self.loop.settings):
            label.setText(TRAINED.format(step=step))
            label.setToolTip(TRAINED_TIP)
            named = None
        else:
            label.setText(LEFT_BEHIND.format(start=start, step=step))
            label.setToolTip(LEFT_BEHIND_TIP)
        name = named.name if named else ""
        # <id>_inkloop_model.pt, <id>_inkloop_model.saved-<date>-<time>.pt: what tells them
        # apart is the segment id (kept) and the ending (after the ellipsis)
        self.checkpoint_file.set_whole(name, keep=name.find("_") + 1)
        self.checkpoint_file.setToolTip(str(named or ""))
        self.checkpoint_file.setVisible(named is not None)

    def _continued(self, path: Path) -> str:
        """What a next run starting from the model at ``path`` is said to continue."""
        own = self.loop is not None and same_file(path, checkpoint_path(self.loop.labels.segment))
        return OWN if own else LOADED

    def _choose_save(self) -> None:
        start = str(self.loop.settings.autosave or "")
        path, _ = QFileDialog.getSaveFileName(self, "Save model", start, MODEL_FILES)
        if path:
            self.save_model(path)

    def _choose_load(self) -> None:
        autosave = self.loop.settings.autosave if self.loop else None
        start = str(autosave.parent) if autosave else ""
        path, _ = QFileDialog.getOpenFileName(self, "Load model", start, MODEL_FILES)
        if path:
            self.load_model(path)

    def _show_event(self, event) -> None:
        if isinstance(event, StepDone):
            self._trained_step = event.step  # shown when the run pauses or ends
        elif isinstance(event, RunStarted):
            self.in_use_label.setText(_in_use_text(event))
        elif isinstance(event, StateChanged):
            self._show_state(event.state)
        elif isinstance(event, ModelBuilt):
            self._take_recipe(event.train)
            if self.loop.trained.saved is None:
                self._trained_step = None  # a new engine that left what was trained behind
                self.show_next_start()
        elif isinstance(event, ModelNotLoaded) and self.init == Path(event.init):
            self._drop_unloadable()
        elif isinstance(event, CheckpointSaved) and Path(event.path).resolve() in self._saving:
            self._saving.discard(Path(event.path).resolve())
            say_info(f"Saved the model (step {event.step}) to {event.path}")

    def _drop_unloadable(self) -> None:
        """The engine cannot load the model chosen: the next run trains a fresh one, said
        (and where the segment's own model goes if that was it: a model chosen said so)."""
        dropped, own = self.init, self.loop.settings.autosave
        say_info(NOT_LOADED.format(name=dropped.name))
        self._set_init(None, chosen=True, tell_kept=own is not None and same_file(dropped, own))

    def _take_recipe(self, recipe: TrainConfig | None) -> None:
        """The chosen model's training recipe, from the engine that loaded it (only it reads
        checkpoints): the next run takes it, but for controls set since (`take_recipe`)."""
        if recipe is None or not self._recipe_due or self.loop.settings.init != self.init:
            return  # a fresh model's engine, or one before the choice
        self._recipe_due = False
        if taken := self.body.take_recipe(recipe, self.loop.settings):
            say_info(RECIPE.format(name=self.init.name, taken=taken))


def _in_use_text(event: RunStarted) -> str:
    text = (
        f"In use: {event.encoder} on {event.device}, {event.precision}, "
        f"batches of {event.batch_size}"
    )
    if event.loader != RunStarted.loader:  # worker processes, on a GPU host
        text += f" from {event.loader}"
    return text
