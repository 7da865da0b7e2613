"""The "Ink Loop" dock widget opens from the plugin menu and follows the open segment."""

from __future__ import annotations

import pytest
from qtpy.QtCore import QPoint
from qtpy.QtWidgets import (
    QAbstractButton,
    QAbstractSpinBox,
    QCheckBox,
    QComboBox,
    QLabel,
    QRadioButton,
    QScrollArea,
    QSlider,
)

from inkloop._napari._widget import InkLoopWidget
from inkloop.io._sidefiles import kept_copy_path
from inkloop.synthetic import write_segment
from tests._napari._fakes import write_torch_zip


def test_dock_widget_opens_by_its_display_name(make_napari_viewer):
    viewer = make_napari_viewer()

    _dock, widget = viewer.window.add_plugin_dock_widget("napari-inkloop", "Ink Loop")

    assert isinstance(widget, InkLoopWidget)
    assert "No segment open" in widget.segment_label.text()


def test_widget_shows_the_segment_opened_through_it(make_napari_viewer, segment_folder):
    viewer = make_napari_viewer()
    _, widget = viewer.window.add_plugin_dock_widget("napari-inkloop", "Ink Loop")

    widget.open_segment(str(segment_folder), wait=True)

    assert "20231012184423: 8 layers of 64 x 96 uint16" in widget.segment_label.text()
    viewer.layers.clear()
    assert "No segment open" in widget.segment_label.text()


def test_closing_the_widget_unbinds_it_from_the_viewer(make_napari_viewer, qtbot):
    viewer = make_napari_viewer()
    widget = InkLoopWidget(viewer)
    qtbot.addWidget(widget)
    before = len(viewer.layers.events.inserted.callbacks)

    widget.close()

    assert len(viewer.layers.events.inserted.callbacks) == before - 1


@pytest.mark.parametrize("size", [(1280, 800), (1600, 1150)])
def test_every_control_of_the_dock_fits_beside_the_canvas(
    make_napari_viewer, tmp_path, monkeypatch, qtbot, size
):
    monkeypatch.setattr(InkLoopWidget, "warm_engine", False)
    folder = tmp_path / ("a_rather_long_folder_name_" * 4) / "20231012184423"
    write_segment(folder, 64, 96, 8, seed=3)
    viewer = make_napari_viewer(show=True)
    viewer.window._qt_window.resize(*size)
    _, widget = viewer.window.add_plugin_dock_widget("napari-inkloop", "Ink Loop")
    widget.open_segment(str(folder), wait=True)
    widget.model_panel.advanced.click()  # the advanced settings too
    scroll = widget.findChild(QScrollArea)
    qtbot.waitUntil(
        lambda: (
            scroll.isVisible()  # shown, laid out: not a hidden widget's sizes
            and scroll.viewport().width() >= scroll.widget().minimumSizeHint().width()
        )
    )

    viewport = scroll.viewport()
    controls = [
        control
        for kind in (QAbstractButton, QAbstractSpinBox, QComboBox, QLabel, QSlider)
        for control in scroll.widget().findChildren(kind)
        if control.isVisible()
    ]
    assert len(controls) > 40
    for control in controls:
        right = control.mapTo(viewport, QPoint(control.width(), 0)).x()
        assert right <= viewport.width(), control.objectName() or control.text()
        # a radio button or check box squeezed below its size hint cuts its own text
        squeezable = not isinstance(control, QRadioButton | QCheckBox)
        needed = control.minimumSizeHint() if squeezable else control.sizeHint()
        assert control.width() >= needed.width(), control.objectName() or control.text()
    assert widget.width() < size[0] / 3
    assert str(folder) == widget.segment_label.toolTip()  # elided in the middle, whole here
    assert "…" in widget.segment_label.text()


def test_ink_labels_controls_and_status_bar_speak_of_the_soft_brush(
    make_napari_viewer, segment_folder, monkeypatch, qtbot
):
    monkeypatch.setattr(InkLoopWidget, "warm_engine", False)
    viewer = make_napari_viewer()
    _, widget = viewer.window.add_plugin_dock_widget("napari-inkloop", "Ink Loop")
    widget.open_segment(str(segment_folder), wait=True)
    layer = viewer.layers["ink labels"]
    viewer.layers.selection.active = layer
    controls = viewer.window._qt_viewer.controls.widgets[layer]

    assert not controls.paint_button.isVisibleTo(controls)
    assert not controls.erase_button.isVisibleTo(controls)
    hint = controls.findChild(QLabel, "soft_labels_hint")
    assert hint.isVisibleTo(controls)
    assert "I ink, N no ink, E erase" in hint.text()
    assert viewer.help.startswith("Ink Loop brush, ink: drag paints")
    assert len(viewer.help) < 80  # a small window's status bar; the keys are in the hint
    assert "use <1>" not in viewer.help

    widget.close()  # a second widget on the same layer adds no second hint
    widget = InkLoopWidget(viewer)
    qtbot.addWidget(widget)
    assert len(controls.findChildren(QLabel, "soft_labels_hint")) == 1
    layer.mode = "paint"  # napari rewrites its help on any mode change
    assert viewer.help.startswith("Ink Loop brush")
    widget.labels.painter.painting = False  # key B
    assert viewer.help.startswith("Ink Loop: painting off")


def test_a_second_segment_gets_its_own_overlay_validation_and_status(
    open_in_dock, segment_folder, tmp_path, qtbot
):
    from inkloop._napari._loop_panel import READY_TEXT, START_TEXT, VALIDATION_LAYER
    from inkloop._napari._overlay import PREDICTION_LAYER
    from inkloop.engine import StepDone

    viewer, widget = open_in_dock(segment_folder)
    # its labels hold ink and no ink (once the label worker has read them)
    qtbot.waitUntil(lambda: widget.loop_panel.status.text() == READY_TEXT)
    first = widget.labels.segment.name
    widget.loop.prediction_layer()
    edges = [[-0.5, -0.5], [19.5, 29.5]]  # of rows 0..19, columns 0..29
    widget.loop_panel.validation_button.click()  # the layer the dock follows as the region
    viewer.layers[VALIDATION_LAYER].add_rectangles(edges)
    assert widget.run_settings().validation == (0, 0, 20, 30)
    loop = widget.loop
    loop.event_received.emit(loop.generation, StepDone(7, 1.25, 1e-3, 40.0, 8, 0, None))
    assert "step\u00a07" in widget.loop_panel.status.text()

    other = write_segment(tmp_path / "other", 48, 80, 8, seed=2)
    widget.open_segment(str(other), wait=True)

    assert widget.labels.segment.name == "other"
    # not the first segment's numbers; its own labels are all "no ink" (no glyph in 48 x 80)
    assert widget.loop_panel.status.text() == START_TEXT
    assert widget.run_settings().validation is None  # its region was the first segment's
    for name in (PREDICTION_LAYER, VALIDATION_LAYER):
        kept = viewer.layers[f"{first} {name}"]  # kept, renamed and hidden: nothing lost
        assert not kept.visible
    assert widget.loop.prediction_layer().data.shape == (48, 80)  # a layer of its own


def test_a_folder_that_is_not_a_segment_is_one_clear_message(
    open_in_dock, segment_folder, tmp_path
):
    from napari.utils.notifications import notification_manager

    viewer, widget = open_in_dock(segment_folder)
    layers = [layer.name for layer in viewer.layers]
    notes, gone = tmp_path / "notes", tmp_path / "gone"
    notes.mkdir()
    (notes / "readme.txt").write_text("not a layer")
    shown = len(notification_manager.records)

    widget.open_segment(str(notes), wait=True)
    widget.open_segment(f"{gone}/", wait=True)  # as a shell completes a folder

    said = [record.message for record in notification_manager.records[shown:]]
    # the reason first (a toast is one line: the rest is cut off), each path said once
    no_layers = "no layer images (numbered .tif, .png or .jpg files) found"
    assert said == [
        f"Ink Loop: cannot open ({no_layers}): {notes}",
        f"Ink Loop: cannot open (no such file or folder): {gone}/",
    ]
    assert [layer.name for layer in viewer.layers] == layers  # the open segment stays


def test_open_segment_opens_a_multipage_tiff_the_drop_patterns_leave_to_napari(
    make_napari_viewer, tmp_path, synthetic
):
    import tifffile

    viewer = make_napari_viewer()
    _, widget = viewer.window.add_plugin_dock_widget("napari-inkloop", "Ink Loop")
    path = tmp_path / "scroll.tif"
    tifffile.imwrite(path, synthetic.volume)

    widget.open_segment(str(path), wait=True)

    assert [layer.name for layer in viewer.layers] == ["scroll", "ink labels"]
    assert widget.labels.segment.name == "scroll"


def test_a_chosen_model_is_loaded_at_once_unless_a_prediction_runs(
    segment_widget, tmp_path, monkeypatch, qtbot
):
    from qtpy.QtWidgets import QApplication

    monkeypatch.setattr(segment_widget, "warm_engine", True)
    loop, model = segment_widget.loop, tmp_path / "earlier.pt"
    write_torch_zip(model)  # the engine reads it; the dock only checks it is whole
    loop.whole_segment.requests.add(3)  # a whole-segment prediction under way

    segment_widget.model_panel.load_model(model)
    QApplication.processEvents()  # the engine starts after the click's events

    assert loop.engine is None  # a new engine would have ended the prediction
    loop.whole_segment.requests.clear()
    segment_widget.model_panel.clear_model()
    segment_widget.model_panel.load_model(model)
    qtbot.waitUntil(lambda: loop.engine is not None)
    assert loop.settings.init == model


def test_a_segment_trained_before_continues_from_its_own_model(
    open_in_dock, segment_folder, tmp_path
):
    from napari.utils.notifications import notification_manager

    from inkloop.io import checkpoint_path, open_segment

    own = checkpoint_path(open_segment(segment_folder))
    write_torch_zip(own)  # the engine reads it; the dock only checks it is whole
    shown = len(notification_manager.records)
    _viewer, widget = open_in_dock(segment_folder)

    assert widget.model_panel.init == own
    assert widget.run_settings().init == own  # Finetune and Predict whole segment take it
    assert widget.model_panel.checkpoint_file.whole == own.name  # "Continues from" it
    assert [record.message for record in notification_manager.records[shown:]] == [
        f"Ink Loop: {own.parent.name} continues from the model trained on it before ({own}); "
        "Model → Clear starts a fresh one"
    ]

    widget.open_segment(str(write_segment(tmp_path / "other", 48, 80, 8, seed=2)), wait=True)
    assert widget.model_panel.init is None  # the first segment's model stays with it

    chosen = tmp_path / "chosen.pt"
    write_torch_zip(chosen)
    widget.model_panel.load_model(chosen)
    widget.open_segment(str(write_segment(tmp_path / "third", 48, 80, 8, seed=3)), wait=True)
    assert widget.model_panel.init == chosen  # a model the user chose goes on


def test_an_unreadable_own_model_is_said_once_and_a_fresh_one_trained(
    open_in_dock, segment_folder, tmp_path
):
    from napari.utils.notifications import notification_manager

    from inkloop.io import checkpoint_path, open_segment

    own = checkpoint_path(open_segment(segment_folder))
    write_torch_zip(tmp_path / "whole.pt")
    cut_short = (tmp_path / "whole.pt").read_bytes()[:-40]  # a copy cut short, a sync conflict
    own.write_bytes(cut_short)
    shown = len(notification_manager.records)
    _viewer, widget = open_in_dock(segment_folder)

    assert widget.model_panel.init is None  # Finetune trains a fresh model
    assert widget.run_settings().init is None
    assert [record.message for record in notification_manager.records[shown:]] == [
        f"Ink Loop: the model trained on {own.parent.name} before cannot be read ({own}: not "
        "a PyTorch file, or cut short): a fresh one will be trained, and at its first save "
        f"the file is kept beside it as {kept_copy_path(own).name}"
    ]
    assert own.read_bytes() == cut_short  # kept


def test_predict_and_engine_start_folded_under_their_titles(segment_widget, qtbot):
    from qtpy.QtCore import Qt

    widget = segment_widget
    assert widget.guide_panel.isVisibleTo(widget)  # the workflow stays open
    for section, title in (
        (widget.predict_section, "Predict whole segment"),
        (widget.engine_section, "Engine"),
    ):
        assert section.toggle.text() == title
        assert section.toggle.isVisibleTo(widget)  # folded, the title still shows
        assert not section.section.isVisibleTo(widget)

        qtbot.mouseClick(section.toggle, Qt.MouseButton.LeftButton)

        assert section.section.isVisibleTo(widget)
