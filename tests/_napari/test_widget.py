"""The "Ink Loop" dock widget opens from the plugin menu and follows the open segment."""

from __future__ import annotations

from inkloop._napari._widget import InkLoopWidget


def test_dock_widget_opens_by_its_display_name(make_napari_viewer):
    viewer = make_napari_viewer()

    _dock, widget = viewer.window.add_plugin_dock_widget("napari-inkloop", "Ink Loop")

    assert isinstance(widget, InkLoopWidget)
    assert "No segment open" in widget.segment_label.text()


def test_widget_shows_the_segment_opened_through_it(make_napari_viewer, segment_folder):
    viewer = make_napari_viewer()
    _, widget = viewer.window.add_plugin_dock_widget("napari-inkloop", "Ink Loop")

    widget.open_segment(str(segment_folder))

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
