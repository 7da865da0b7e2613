"""The dock's Reverse with a loaded model (r5 F1): it says whether this stack is stored back
to front, whatever the model was trained on, and goes to the engine as the stack's order; a
model trained on a reversed stack that reads this one as stored says so in the summary."""

from __future__ import annotations

import dataclasses

import pytest

from inkloop._napari._windows import READ_AS_STORED, RESOLUTIONS
from inkloop.compose import Composition
from inkloop.engine import ModelBuilt
from tests._napari._fakes import write_torch_zip

AT_DEFAULT = f"{RESOLUTIONS[Composition.scale]} resolution"  # as the summary says


@pytest.fixture
def loaded(segment_widget, tmp_path):
    """The widget with modelRev.pt loaded (the engine, not warmed up, builds nothing)."""
    checkpoint = tmp_path / "modelRev.pt"
    write_torch_zip(checkpoint)
    segment_widget.model_panel.load_model(checkpoint)
    loop = segment_widget.loop
    loop.settings = dataclasses.replace(loop.settings, init=checkpoint)
    return segment_widget


def test_reverse_says_a_loaded_models_stack_is_stored_back_to_front(loaded):
    panel, reverse = loaded.segment_panel, loaded.segment_panel.window.reverse
    assert reverse.isEnabled()
    built = ModelBuilt("resnet18", Composition("raw", 3, 4), 3, trained_reversed=True)
    loaded.loop.changed.emit(built)  # read as stored: this is not its own stack

    assert not reverse.isChecked()
    assert panel.window.summary.text() == (
        f"the model reads layers 3–6 of 8 (as trained) · 4 channels at {AT_DEFAULT} · "
        f"{READ_AS_STORED}"
    )
    assert not loaded.run_settings().composition.reverse

    reverse.click()

    settings = loaded.run_settings()
    assert settings.composition.reverse  # what the engine's resolve_run reads as declared
    assert settings.init == loaded.model_panel.init
    assert panel.window.summary.text() == (
        f"the model reads layers 1–4 of 8 (as trained, reversed) · 4 channels at {AT_DEFAULT}"
    )
    reverse.click()
    assert not loaded.run_settings().composition.reverse
    assert panel.window.summary.text().endswith(READ_AS_STORED)


def test_a_reversed_models_own_stack_keeps_its_order(loaded):
    window = loaded.segment_panel.window
    own = ModelBuilt(
        "resnet18",
        Composition("raw", 3, 4, reverse=True),
        3,
        trained_reversed=True,
        reversed_as_trained=True,
    )
    loaded.loop.changed.emit(own)

    assert window.reverse.isChecked()
    assert not window.reverse.isEnabled()  # no tick reads it as stored
    assert READ_AS_STORED not in window.summary.text()


def test_the_panels_own_reverse_is_not_a_loaded_models(segment_widget, tmp_path):
    panel = segment_widget.segment_panel
    panel.window.reverse.click()  # for a model trained here
    assert segment_widget.run_settings().composition.reverse
    checkpoint = tmp_path / "earlier.pt"
    write_torch_zip(checkpoint)

    segment_widget.model_panel.load_model(checkpoint)

    assert not panel.window.reverse.isChecked()
    assert not segment_widget.run_settings().composition.reverse
    segment_widget.model_panel.clear_model()
    assert segment_widget.run_settings().composition.reverse
