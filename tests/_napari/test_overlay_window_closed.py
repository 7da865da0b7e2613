"""A prediction tile whose redraw comes due after napari's window was closed (its X, in a
process that lives on) draws nothing: the canvas it would draw into is deleted."""

from __future__ import annotations

import numpy as np
from qtpy.QtCore import QEvent
from qtpy.QtWidgets import QApplication

from inkloop._napari._widget import InkLoopWidget
from tests._napari._gui import canvas


def test_a_redraw_after_the_window_closed_draws_nothing(
    make_napari_viewer, unlabelled_folder, monkeypatch, qtbot
):
    monkeypatch.setattr(InkLoopWidget, "warm_engine", False)
    viewer = make_napari_viewer(show=True)  # shown: the overlay's texture is drawn
    _, widget = viewer.window.add_plugin_dock_widget("napari-inkloop", "Ink Loop")
    # no labels to read on the worker meanwhile
    widget.open_segment(str(unlabelled_folder), wait=True)
    overlay, scene = widget.loop.overlay, canvas(viewer)._scene_canvas
    overlay.layer()
    qtbot.waitUntil(lambda: not scene._update_pending)  # drawn, its texture made
    overlay.show((0, 0, 16, 16), np.full((16, 16), 0.9, np.float32))  # its redraw queued
    try:
        viewer.window._qt_window.close()  # the window's X
        QApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete.value)  # Qt deletes it
        scene._update_pending = False  # its last frame drawn: the next change asks again
        overlay._redraw_boxes()  # the queued redraw comes due
    finally:
        del viewer.window._qt_window  # as napari's own close leaves it: nothing left to close
