"""The viewer-with-dock fixtures the napari tests share."""

from __future__ import annotations

import pytest

from inkloop._napari._widget import InkLoopWidget


@pytest.fixture
def open_in_dock(make_napari_viewer, monkeypatch):
    """A function: a new viewer with the Ink Loop dock, ``folder`` opened through it, as
    (viewer, widget). The engine process is not warmed up unless ``warm_engine``."""

    def open_folder(folder, *, warm_engine: bool = False):
        monkeypatch.setattr(InkLoopWidget, "warm_engine", warm_engine)
        viewer = make_napari_viewer()
        _, widget = viewer.window.add_plugin_dock_widget("napari-inkloop", "Ink Loop")
        widget.open_segment(str(folder))
        return viewer, widget

    return open_folder


@pytest.fixture
def segment_widget(open_in_dock, segment_folder):
    """An Ink Loop widget (engine not warmed up) with an 8-layer segment open."""
    return open_in_dock(segment_folder)[1]
