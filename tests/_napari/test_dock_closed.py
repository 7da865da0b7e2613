"""The "ink labels" layer after the Ink Loop dock is closed (its X): nothing paints it, and
it says so, and how to paint again, instead of naming keys that no longer work."""

from __future__ import annotations

from qtpy.QtWidgets import QLabel

from inkloop._napari._widget import InkLoopWidget
from tests._napari._gui import press


def test_closing_the_dock_leaves_the_labels_saying_how_to_paint_again(
    make_napari_viewer, monkeypatch, unlabelled_folder
):
    monkeypatch.setattr(InkLoopWidget, "warm_engine", False)
    viewer = make_napari_viewer()
    dock, widget = viewer.window.add_plugin_dock_widget("napari-inkloop", "Ink Loop")
    widget.open_segment(str(unlabelled_folder), wait=True)
    layer = viewer.layers["ink labels"]
    viewer.layers.selection.active = layer
    controls = viewer.window._qt_viewer.controls.widgets[layer]

    viewer.window.remove_dock_widget(dock)

    assert layer.help == "Ink Loop closed: reopen it (Plugins > Ink Loop) to paint these labels"
    assert viewer.help == layer.help  # the status bar too, not the brush's keys
    hint = controls.findChild(QLabel, "soft_labels_hint").text()
    assert "while the dock is open" in hint  # its keys: none work now
    assert "Plugins > Ink Loop" in hint
    press(viewer, "B")  # napari's own key again (preserve labels), not "painting on"
    assert layer.help.startswith("Ink Loop closed")
    assert (layer.editable, layer.mode, layer.mouse_pan) == (False, "pan_zoom", True)
    assert not controls.paint_button.isVisibleTo(controls)  # it would write other codes

    _, widget = viewer.window.add_plugin_dock_widget("napari-inkloop", "Ink Loop")
    assert widget.labels.layer is layer  # reopened: paints the same labels
    assert layer.help.startswith("Ink Loop brush")
