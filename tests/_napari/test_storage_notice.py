"""The way out that notices give names the file type to pick in napari's File → Save Selected
Layers: napari's default type, given a .png name, leaves that file empty (its writer opens it,
then fails on 16-bit labels)."""

from __future__ import annotations

import numpy as np
from napari.layers import Labels
from napari.plugins import _npe2

from inkloop._napari._label_claims import save_selected_layers


def test_the_type_named_is_the_ink_loop_type_of_napari_s_save_dialog(make_napari_viewer):
    make_napari_viewer()  # napari's plugins, registered where its fixture undoes it
    types, _ = _npe2.file_extensions_string_for_layers([Labels(np.zeros((4, 4), np.uint16))])
    kind = save_selected_layers().removeprefix("File → Save Selected Layers, type ")
    assert kind.strip('"') in types.split(";;")
    assert kind == '"Ink Loop Vesuvius ink labels (*.png)"'
