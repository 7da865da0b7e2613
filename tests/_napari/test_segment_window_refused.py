"""The Segment section after the engine refused a loaded model's window (its layers are not
in this stack): it says so and that First layer moves it, until the model fits."""

from __future__ import annotations

import dataclasses

import pytest

from inkloop._napari._segment_panel import SegmentPanel
from inkloop.compose import Composition
from inkloop.engine import ModelBuilt
from inkloop.engine._events import WindowRefused


@pytest.fixture
def mounted(qtbot, segment_widget):
    """A Segment panel following the widget's 8-layer segment."""
    panel = SegmentPanel(lambda path: None)
    qtbot.addWidget(panel)
    panel.set_loop(segment_widget.loop)
    return panel


def test_a_refused_window_says_to_move_first_layer_until_it_fits(mounted, tmp_path):
    loop, checkpoint = mounted.loop, tmp_path / "segA_inkloop_model.pt"
    mounted.show_model(checkpoint)
    loop.settings = dataclasses.replace(loop.settings, init=tmp_path / "another.pt")

    loop.changed.emit(WindowRefused(str(tmp_path / "another.pt")))  # of an engine before
    assert mounted.window.summary.text() == "the model reads the layers it was trained on"
    loop.settings = dataclasses.replace(loop.settings, init=checkpoint)
    loop.changed.emit(WindowRefused(str(checkpoint)))

    refused = "the model's layers are not in this stack: move First layer"
    assert mounted.window.summary.text() == refused
    mounted.window.z_start.setValue(1)
    assert mounted.window.summary.text() == "the model reads from layer 1 of 8 (moved)"
    loop.changed.emit(ModelBuilt("resnet18", Composition("raw", 1, 4), None))
    assert mounted.window.summary.text().startswith("the model reads layers 1–4 of 8 (moved)")
    mounted.show_model(None)
    mounted.show_model(checkpoint)  # chosen again: the engine says anew
    assert mounted.window.summary.text() == "the model reads the layers it was trained on"


def test_a_refused_window_is_said_under_an_engine_servers_path_map(mounted, tmp_path):
    """The server names the model by its own path (``--path-map``): the event is still this
    model's, as the loop's own settings say."""
    loop, checkpoint = mounted.loop, tmp_path / "segA_inkloop_model.pt"
    mounted.show_model(checkpoint)
    loop.settings = dataclasses.replace(loop.settings, init=checkpoint)

    loop.changed.emit(WindowRefused("/mnt/scrolls/segA_inkloop_model.pt"))

    refused = "the model's layers are not in this stack: move First layer"
    assert mounted.window.summary.text() == refused
