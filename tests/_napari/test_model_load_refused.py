"""r5 F6: Model → Load took any file; the engine's error then came twice (its set-up, then the
loaded model's preview), the panel kept "Continues from the loaded model", and every Finetune
failed the same way until the user found Clear. The dock refuses what it can tell is no
checkpoint, shows no preview of a model its engine could not set up, and goes back to a fresh
model when the engine cannot load the one chosen."""

from __future__ import annotations

import dataclasses

import pytest
from qtpy.QtWidgets import QFileDialog

from inkloop._napari._model_panel import FRESH_MODEL, KEPT, ModelPanel
from inkloop._napari._say import PREFIX
from inkloop.compose import Composition
from inkloop.engine import Failed, ModelBuilt
from inkloop.engine import _events as events
from inkloop.io import checkpoint_path, open_segment
from tests._napari._fakes import fake_engines, write_torch_zip
from tests._napari._gui import messages

BUILT = ModelBuilt("resnet18", Composition().resolve(8), 0)  # of the 8-layer segment


@pytest.fixture
def panel(qtbot):
    panel = ModelPanel()
    qtbot.addWidget(panel)
    return panel


@pytest.mark.parametrize("content", [b"my notes", b"PK\x03\x04 cut short"])
def test_a_file_that_is_no_checkpoint_is_refused_in_one_message(panel, qtbot, tmp_path, content):
    chosen = tmp_path / "notes.pt"
    chosen.write_bytes(content)
    shown = len(messages(0))

    with qtbot.assertNotEmitted(panel.checkpoint_changed):
        assert not panel.load_model(chosen)

    assert messages(shown) == [
        f"Ink Loop: No model loaded: {chosen} cannot be read (not a PyTorch file, or cut short)"
    ]
    assert panel.init is None
    assert panel.checkpoint_label.text() == FRESH_MODEL


def test_the_file_dialogs_offer_every_checkpoint_suffix(panel, monkeypatch, segment_widget):
    panel.set_loop(segment_widget.loop)
    offered = []

    def choose(parent, title, start, filters):
        offered.append(filters)
        return "", ""  # cancelled

    for name in ("getOpenFileName", "getSaveFileName"):
        monkeypatch.setattr(QFileDialog, name, choose)

    panel.load_button.click()
    panel.save_button.click()

    assert offered == ["inkloop model (*.pt *.pth *.ckpt)"] * 2


def _warmed_from(widget, model, qtbot, monkeypatch):
    """``widget``'s loop with ``model`` loaded and an engine (a stand-in) made for it."""
    made = fake_engines(monkeypatch)
    write_torch_zip(model)
    assert widget.model_panel.load_model(model)
    widget.loop.warm_up()
    qtbot.waitUntil(lambda: widget.loop.engine is not None)
    assert made[-1].settings.init == model
    return widget.loop


def test_a_loaded_model_shows_the_view_once_built_and_none_if_the_engine_could_not_set_up(
    segment_widget, qtbot, monkeypatch, tmp_path
):
    loop = _warmed_from(segment_widget, tmp_path / "model.pt", qtbot, monkeypatch)
    assert not loop.view.on  # not asked of an engine still setting up

    loop.event_received.emit(loop.generation, Failed(f"{tmp_path / 'model.pt'}: damaged"))
    loop.event_received.emit(loop.generation, BUILT)
    assert not loop.view.on  # its set-up failed: a preview would fail again and say so

    loop.warm_up(dataclasses.replace(loop.settings, tile=64))  # another engine
    qtbot.waitUntil(lambda: loop.engine is not None)
    loop.event_received.emit(loop.generation, BUILT)
    assert loop.view.on  # trained weights show the view at once


def test_a_model_the_engine_cannot_load_gives_way_to_a_fresh_one_and_says_so(
    segment_widget, qtbot, monkeypatch, tmp_path
):
    model, panel = tmp_path / "model.pt", segment_widget.model_panel
    loop = _warmed_from(segment_widget, model, qtbot, monkeypatch)
    shown = len(messages(0))

    with qtbot.waitSignal(panel.checkpoint_changed) as changed:
        loop.event_received.emit(loop.generation, events.ModelNotLoaded(str(model)))
    loop.event_received.emit(loop.generation, Failed(f"{model}: not an inkloop checkpoint"))

    assert changed.args == [None]
    assert panel.checkpoint_label.text() == FRESH_MODEL
    assert segment_widget.run_settings().init is None  # the next Finetune trains anew
    assert messages(shown) == [
        "Ink Loop: the engine cannot load model.pt, so the next run trains a fresh model "
        "(Model → Load… chooses another)",
        f"Ink Loop: {model}: not an inkloop checkpoint",
    ]


def test_another_model_the_engine_cannot_load_leaves_the_one_chosen(
    segment_widget, qtbot, monkeypatch, tmp_path
):
    model, panel = tmp_path / "model.pt", segment_widget.model_panel
    loop = _warmed_from(segment_widget, model, qtbot, monkeypatch)

    with qtbot.assertNotEmitted(panel.checkpoint_changed):  # an engine's before the choice
        loop.event_received.emit(loop.generation, events.ModelNotLoaded(str(tmp_path / "x.pt")))

    assert panel.init == model


def test_an_own_model_the_engine_cannot_load_says_where_it_goes_and_a_chosen_one_not_again(
    open_in_dock, segment_folder, qtbot, monkeypatch, tmp_path
):
    """The own model (a newer inkloop's, copied in) was continued: that the next run keeps
    it beside is news. A model chosen over it said so when it was chosen."""
    own = checkpoint_path(open_segment(segment_folder))
    write_torch_zip(own)
    _, widget = open_in_dock(segment_folder)
    loop = _warmed_from(widget, own, qtbot, monkeypatch)
    kept = PREFIX + KEPT.format(own=own.name, stem=own.stem, suffix=own.suffix)
    said = "Ink Loop: the engine cannot load {}, so the next run trains a fresh model "
    said += "(Model → Load… chooses another)"

    shown = len(messages(0))
    loop.event_received.emit(loop.generation, events.ModelNotLoaded(str(own)))
    assert messages(shown) == [said.format(own.name), kept]

    chosen = tmp_path / "chosen.pt"
    loop = _warmed_from(widget, chosen, qtbot, monkeypatch)
    shown = len(messages(0))
    loop.event_received.emit(loop.generation, events.ModelNotLoaded(str(chosen)))
    assert messages(shown) == [said.format(chosen.name)]
