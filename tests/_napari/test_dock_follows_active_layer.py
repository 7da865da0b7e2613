"""napari hands the brush's drags and keys to the selected layer alone: with another layer
selected the dock says how to paint again, and its Paint and brush modes select "ink labels"
(keyboard review R3, finding 5). The dock never selects it on its own."""

from __future__ import annotations

from qtpy.QtCore import Qt
from qtpy.QtTest import QTest
from qtpy.QtWidgets import QRadioButton

from inkloop._napari._labels import LABELS_LAYER
from tests._napari._gui import canvas


def _select_another(viewer):
    """Select a layer other than "ink labels", as a click in the layer list does; it."""
    other = next(layer for layer in viewer.layers if layer.name != LABELS_LAYER)
    viewer.layers.selection.active = other
    return other


def test_another_layer_selected_is_said_and_paint_or_a_brush_mode_selects_the_labels(painting):
    viewer, widget = painting
    note, labels, painter = widget.select_to_paint.note, widget.labels.layer, widget.labels.painter
    paint = widget.brush_panel.paint
    assert viewer.layers.selection.active == labels
    assert note.isHidden()

    other = _select_another(viewer)

    assert not note.isHidden()
    assert note.text() == f'Select "{LABELS_LAYER}" to paint (its keys too)'
    assert viewer.layers.selection.active == other  # the user's choice stands
    widget.brush_panel.findChild(QRadioButton, "erase_mode").click()
    assert viewer.layers.selection.active == labels
    assert note.isHidden()
    QTest.keyClick(canvas(viewer).native, Qt.Key.Key_N)  # its keys reach the brush again
    assert painter.brush.mode == "no_ink"

    _select_another(viewer)
    assert (painter.painting, paint.isChecked()) == (True, True)
    paint.click()  # the brush looked on and did nothing: the click means "paint"
    assert viewer.layers.selection.active == labels
    assert (painter.painting, paint.isChecked()) == (True, True)
    assert note.isHidden()
    paint.click()  # with the labels selected, Paint turns painting off as before
    assert (painter.painting, paint.isChecked()) == (False, False)
