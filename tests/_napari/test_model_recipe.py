"""r5 F4: the dock dropped a checkpoint's training recipe (patch size, batch, rate, seed, ...)
when it continued from it, also the segment's own model at the next session, and recorded its
own defaults as the model's. The engine, which alone reads checkpoints, says the recipe when it
builds the model (ModelBuilt.train); Advanced shows it and the next run takes it, as
`inkloop train --init` does, but for the controls the user sets."""

from __future__ import annotations

import dataclasses

from inkloop.compose import Composition
from inkloop.engine import ModelBuilt
from inkloop.io import checkpoint_path, open_segment
from inkloop.settings import Augmentations, TrainConfig
from tests._napari._fakes import fake_engines, write_torch_zip
from tests._napari._gui import messages

RECIPE = TrainConfig(patch_size=96, batch_size=4, lr=3e-4, seed=5, augment=Augmentations(blur=0))
TAKEN = "patch size 96, batch size 4, lr 0.0003, augment.blur 0, seed 5"


def _built(loop, recipe: TrainConfig | None = RECIPE) -> None:
    """The engine in use built its model from a checkpoint trained with ``recipe``."""
    built = ModelBuilt("resnet18", Composition().resolve(8), 0, recipe)  # the 8-layer segment
    loop.event_received.emit(loop.generation, built)


def _warmed(widget, qtbot, monkeypatch):
    """The engines ``widget`` makes (stand-ins), one made now with the dock's settings."""
    made = fake_engines(monkeypatch)
    widget.loop.warm_up()
    qtbot.waitUntil(lambda: widget.loop.engine is not None)
    return made


def test_a_loaded_models_recipe_shows_in_advanced_and_the_next_run_takes_it(
    segment_widget, qtbot, monkeypatch, tmp_path
):
    widget, model = segment_widget, tmp_path / "model.pt"
    panel, body = widget.model_panel, widget.model_panel.body
    write_torch_zip(model)
    panel.load_model(model)
    made = _warmed(widget, qtbot, monkeypatch)
    shown = len(messages(0))

    _built(widget.loop)

    assert messages(shown) == [f"Ink Loop: the next run continues model.pt with its training "
                               f"recipe: {TAKEN}"]  # fmt: skip
    assert (body.patch_size.value(), body.batch_size.value()) == (96, 4)
    assert body.lr.value() == RECIPE.lr
    assert widget.run_settings().train == widget.loop.settings.train.with_recipe_of(RECIPE)
    widget.loop_panel.finetune_button.click()  # a new engine: its training settings differ
    qtbot.waitUntil(lambda: made[-1].starts > 0)
    assert made[-1].settings.train.recipe_changes() == RECIPE.recipe_changes()

    body.lr.setValue(1e-3)  # the user's control goes; the rest of the recipe stays
    assert widget.run_settings().train == dataclasses.replace(
        widget.loop.settings.train.with_recipe_of(RECIPE), lr=1e-3
    )
    _built(widget.loop, TrainConfig(patch_size=160))  # a later engine's: not taken again
    assert (body.patch_size.value(), body.lr.value()) == (96, 1e-3)

    panel.clear_model()  # a fresh model: the controls as they are, no recipe beneath
    assert widget.run_settings().train.seed == TrainConfig().seed
    assert widget.run_settings().train.augment == Augmentations()


def test_a_recipe_past_the_controls_range_is_taken_whole(
    segment_widget, qtbot, monkeypatch, tmp_path
):
    """Patch 1536 and batch 600 were capped at the controls' 1024 and 512, while the notice
    said the run took 1536 and 600."""
    widget, body, model = segment_widget, segment_widget.model_panel.body, tmp_path / "big.pt"
    big = TrainConfig(patch_size=1536, batch_size=600)
    write_torch_zip(model)
    widget.model_panel.load_model(model)
    _warmed(widget, qtbot, monkeypatch)

    _built(widget.loop, big)

    assert (body.patch_size.value(), body.batch_size.value()) == (1536, 600)
    train = widget.run_settings().train
    assert (train.patch_size, train.batch_size) == (1536, 600)


def test_a_control_set_before_the_engine_read_the_recipe_stays_as_set(
    segment_widget, qtbot, monkeypatch, tmp_path
):
    widget, model = segment_widget, tmp_path / "model.pt"
    body = widget.model_panel.body
    write_torch_zip(model)
    widget.model_panel.load_model(model)
    _warmed(widget, qtbot, monkeypatch)
    body.patch_size.setValue(128)  # while the engine loads the model

    _built(widget.loop)

    assert body.patch_size.value() == 128
    taken = widget.run_settings().train
    assert (taken.patch_size, taken.lr, taken.seed) == (128, RECIPE.lr, RECIPE.seed)


def test_the_segments_own_model_brings_its_recipe_to_the_next_session(
    open_in_dock, segment_folder, qtbot, monkeypatch
):
    own = checkpoint_path(open_segment(segment_folder))
    write_torch_zip(own)  # trained with RECIPE in a session before
    _, widget = open_in_dock(segment_folder)
    assert widget.model_panel.init == own
    made = _warmed(widget, qtbot, monkeypatch)

    _built(widget.loop)
    widget.loop_panel.finetune_button.click()

    qtbot.waitUntil(lambda: made[-1].starts > 0)
    assert made[-1].settings.init == own
    assert made[-1].settings.train.recipe_changes() == RECIPE.recipe_changes()


def test_a_fresh_models_engine_brings_no_recipe(segment_widget, qtbot, monkeypatch):
    widget = segment_widget
    before = widget.run_settings()
    _warmed(widget, qtbot, monkeypatch)
    shown = len(messages(0))

    _built(widget.loop, None)

    assert widget.run_settings() == before
    assert messages(shown) == []
