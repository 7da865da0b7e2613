"""Label values napari's own tools write (its M gives 257) are no Ink Loop labels, and no file
holds them: the dock taking up a layer that holds them unlabels them, says how many and
where, as one undoable stroke, so that no pixel refuses every save; values a script writes
later are named where they are, with their own way out (not another disk)."""

from __future__ import annotations

import numpy as np
from napari.utils.notifications import notification_manager

from inkloop._napari._widget import InkLoopWidget
from inkloop.brush import FULL_INK, decode_labels
from inkloop.io import label_paths, read_label_image
from tests._napari._gui import messages


def test_values_napari_s_tools_wrote_before_the_dock_are_unlabelled_said_and_saved(
    make_napari_viewer, segment_folder, monkeypatch
):
    monkeypatch.setattr(InkLoopWidget, "warm_engine", False)
    viewer = make_napari_viewer()
    (*_, layer) = viewer.open(str(segment_folder), plugin="napari-inkloop")
    layer.data[10:12, 20:23] = 257  # napari's M, then its brush
    layer.data[40, 5] = 300
    written = layer.data.copy()
    expected = written.copy()
    expected[written > FULL_INK] = 0
    shown = len(notification_manager.records)

    _, widget = viewer.window.add_plugin_dock_widget("napari-inkloop", "Ink Loop")

    assert messages(shown) == [
        'Ink Loop: "ink labels" held values that are not Ink Loop labels (napari\'s own label '
        "tools write them) in 7 pixels at y 10–40, x 5–22: no file can hold them, so they are "
        "unlabelled now and the labels can be saved. Paint with the Ink Loop brush"
    ]
    np.testing.assert_array_equal(layer.data, expected)
    session = widget.labels
    assert session.autosaver.save_if_changed() is not None  # the layer holds what no file does
    ink_path, _ = session.save().result()
    saved = read_label_image(ink_path, expected.shape, ink=True)
    np.testing.assert_array_equal(saved, decode_labels(expected)[0])
    assert ink_path == label_paths(session.segment)[0]
    session.painter.undo()  # one stroke
    np.testing.assert_array_equal(layer.data, written)


def test_values_written_after_the_dock_took_the_labels_are_named_with_their_way_out(painting):
    _viewer, widget = painting
    widget.labels.layer.data[5, 7] = 257  # a script's, after the dock took the layer up
    shown = len(notification_manager.records)

    widget.labels.autosaver.flush()  # as the window closes

    assert messages(shown) == [
        "Ink Loop: The last strokes could not be written: they are lost unless the 'ink "
        "labels' layer is still open. label value 257 is not an Ink Loop label (0 unlabelled, "
        "1 no ink, up to 256 full ink; napari's own label tools write others): such values lie "
        "in 1 pixel at y 5, x 7; erase them with the Ink Loop dock's Erase brush (E)"
    ]
    assert "another disk" not in widget.brush_panel.storage.text()
    assert "in 1 pixel at y 5, x 7" in widget.brush_panel.storage.text()
