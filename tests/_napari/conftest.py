"""The viewer-with-dock fixtures the napari tests share."""

from __future__ import annotations

import pytest

from inkloop._napari._widget import InkLoopWidget
from inkloop.settings import EngineSettings
from inkloop.synthetic import make_segment, write_segment
from tests._helpers import tiny_model, tiny_training
from tests._napari._gui import LOOP_CONTRAST, LOOP_SEED, LOOP_SHAPE


@pytest.fixture
def open_in_dock(make_napari_viewer, monkeypatch):
    """A function: a new viewer with the Ink Loop dock, ``folder`` opened through it, as
    (viewer, widget). The engine process is not warmed up unless ``warm_engine``."""

    def open_folder(folder, *, warm_engine: bool = False):
        monkeypatch.setattr(InkLoopWidget, "warm_engine", warm_engine)
        viewer = make_napari_viewer()
        _, widget = viewer.window.add_plugin_dock_widget("napari-inkloop", "Ink Loop")
        widget.open_segment(str(folder), wait=True)
        return viewer, widget

    return open_folder


@pytest.fixture
def segment_widget(open_in_dock, segment_folder):
    """An Ink Loop widget (engine not warmed up) with an 8-layer segment open."""
    return open_in_dock(segment_folder)[1]


@pytest.fixture
def unlabelled_folder(tmp_path):
    """A 6-layer 200 x 300 segment folder with no ink labels."""
    return write_segment(tmp_path / "seg", 200, 300, 6, seed=3, truth_as_labels=False)


@pytest.fixture
def painting(open_in_dock, unlabelled_folder):
    """``unlabelled_folder`` opened in a viewer's dock, its engine not started: (viewer, widget)."""
    return open_in_dock(unlabelled_folder)


@pytest.fixture
def loop_folder(tmp_path):
    depth, height, width = LOOP_SHAPE
    return write_segment(
        tmp_path / "loopseg", height, width, depth, seed=LOOP_SEED, ink_contrast=LOOP_CONTRAST,
        truth_as_labels=False,
    )  # fmt: skip


@pytest.fixture
def truth():
    depth, height, width = LOOP_SHAPE
    segment = make_segment(height, width, depth, seed=LOOP_SEED, ink_contrast=LOOP_CONTRAST)
    return segment.ink > 0.5, segment.mask


@pytest.fixture
def loop_widget(open_in_dock, loop_folder, tmp_path):
    viewer, widget = open_in_dock(loop_folder)
    widget.loop.settings = EngineSettings(
        model=tiny_model(),
        train=tiny_training(patch_size=64, batch_size=8, lr=3e-3, warmup_steps=10),
        autosave=tmp_path / "model.pt",
        autosave_every=5.0,
    )
    widget.model_panel.show_settings(widget.loop.settings)  # the run takes the panel's choices
    widget.loop.refresh_s = 0.5
    return viewer, widget


@pytest.fixture
def laptop_dock(make_napari_viewer, segment_folder, monkeypatch, qtbot):
    """The dock, a segment open, in napari's active window on a 1366x768 screen:
    (viewer, widget)."""
    monkeypatch.setattr(InkLoopWidget, "warm_engine", False)
    viewer = make_napari_viewer(show=True)
    window = viewer.window._qt_window
    window.resize(1366, 768)
    _, widget = viewer.window.add_plugin_dock_widget("napari-inkloop", "Ink Loop")
    widget.open_segment(str(segment_folder), wait=True)
    window.activateWindow()
    qtbot.waitUntil(
        lambda: widget.isVisible() and window.isActiveWindow() and window.height() <= 768
    )
    return viewer, widget
