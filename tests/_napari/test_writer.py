"""napari's File → Save Selected Layer(s) with the Ink Loop type: only Ink Loop labels, as
the files `inkloop train` reads, and a painted segment's own files saved as the dock saves."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image
from qtpy.QtWidgets import QFileDialog

from inkloop._napari._private import _unproxied
from inkloop.brush import decode_labels
from inkloop.io import label_paths, load_labels
from tests._napari._gui import drag, messages


def _save(viewer, layer, path):
    viewer.layers.selection = {layer}
    return viewer.layers.save(str(path), selected=True, plugin="napari-inkloop")


def test_a_name_typed_without_extension_in_the_save_dialog_gets_png_and_reads_back(
    segment_widget, tmp_path, qtbot, monkeypatch
):
    viewer = segment_widget.viewer
    widget = segment_widget
    widget.labels.painter.set_brush(radius=8, hardness=0.3, strength=0.6)
    drag(viewer, [(30, 30), (40, 60)], qtbot)
    layer = viewer.layers["ink labels"]
    viewer.layers.selection = {layer}
    out = tmp_path / "out"
    out.mkdir()

    def ink_loop_type(*args, filter, **kwargs):
        (ours,) = [choice for choice in filter.split(";;") if "Ink Loop" in choice]
        return str(out / "mine"), ours

    monkeypatch.setattr(QFileDialog, "getSaveFileName", ink_loop_type)
    save_dialog = _unproxied(viewer).window._qt_viewer._save_layers_dialog
    save_dialog(selected=True)  # File → Save Selected Layers

    assert sorted(path.name for path in out.iterdir()) == [
        "mine.png",
        "mine_supervision_mask.png",
    ]
    ink, supervised, _ = load_labels(widget.labels.segment, out / "mine.png")
    expected_ink, expected_supervised = decode_labels(layer.data)
    np.testing.assert_array_equal(supervised, expected_supervised)
    np.testing.assert_array_equal(ink[supervised], expected_ink[supervised])


def test_other_labels_layers_are_refused_not_written_as_ink(make_napari_viewer, tmp_path):
    viewer = make_napari_viewer()
    cells = viewer.add_labels(np.arange(64, dtype=np.uint16).reshape(8, 8) * 7, name="cells")
    shown = len(messages(0))
    with pytest.warns(UserWarning, match="did not return any written paths"):
        assert _save(viewer, cells, tmp_path / "cells.png") == []
    assert not (tmp_path / "cells.png").exists()
    assert messages(shown) == [
        "Ink Loop: "
        "cells was not saved: it is not Ink Loop soft labels (a segment's 'ink labels'); save "
        "it with napari's own writers"
    ]


def test_label_values_past_full_ink_are_refused_not_wrapped(segment_widget, tmp_path):
    viewer = segment_widget.viewer
    layer = viewer.layers["ink labels"]
    other = viewer.add_labels(layer.data.copy(), name="copy", metadata=dict(layer.metadata))
    other.data[5, 5] = 257  # napari's M: a new label

    shown = len(messages(0))
    with pytest.warns(UserWarning, match="did not return any written paths"):
        assert _save(viewer, other, tmp_path / "copy.png") == []
    assert not (tmp_path / "copy.png").exists()
    assert messages(shown) == [
        "Ink Loop: "
        "copy was not saved: label value 257 is not an Ink Loop label (0 unlabelled, 1 no ink, "
        "up to 256 full ink; napari's own label tools write others): such values lie in 1 "
        "pixel at y 5, x 5; erase them with the Ink Loop dock's Erase brush (E)"
    ]


def test_saving_the_painted_segments_own_files_leaves_no_stale_autosave(segment_widget, qtbot):
    viewer, widget = segment_widget.viewer, segment_widget
    drag(viewer, [(30, 30), (40, 60)], qtbot)
    widget.labels.autosaver.save_if_changed().result()  # the dock's autosave copies
    segment = widget.labels.segment
    autosaved = label_paths(segment, autosave=True)
    assert all(path.exists() for path in autosaved)
    shown = len(messages(0))

    _save(viewer, viewer.layers["ink labels"], label_paths(segment)[0])

    assert not any(path.exists() for path in autosaved)  # reopening warns of nothing
    saved = np.asarray(Image.open(label_paths(segment)[1])) == 255
    np.testing.assert_array_equal(saved, decode_labels(widget.labels.painter.canvas.codes)[1])
    qtbot.waitUntil(lambda: any(m.startswith("Ink Loop: Saved ") for m in messages(shown)))


def test_a_refused_save_of_labels_another_viewer_paints_is_said_once_and_returns_nothing(
    open_in_dock, unlabelled_folder
):
    open_in_dock(unlabelled_folder)
    viewer, second = open_in_dock(unlabelled_folder)  # refused: the first viewer paints them
    second.labels.painter.stamp_along([(50, 50), (60, 80)])
    target = label_paths(second.labels.segment)[0]
    shown = len(messages(0))

    with pytest.warns(UserWarning, match="did not return any written paths"):
        assert _save(viewer, viewer.layers["ink labels"], target) == []  # no PermissionError
    assert not target.exists()
    assert [m for m in messages(shown) if "not saved" in m] == [
        f"Ink Loop: Labels not saved: {second.labels.autosaver.why}"
    ]
