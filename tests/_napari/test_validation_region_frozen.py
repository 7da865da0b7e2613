"""The validation region cannot change while a run starts, goes on or is paused (close1 F3):
the running engine holds out the region it was made with, so a rectangle moved, deleted or
drawn with napari's own shape tools, or its layer deleted, is put back as the run holds it,
and the status says to stop the run first. Once the run stops, editing works again."""

from __future__ import annotations

import json

import numpy as np

from inkloop._napari._rectangle import box_corners
from inkloop._napari._validation_region import STOP_FIRST_TIP, VALIDATION_LAYER
from inkloop.engine import State, StateChanged
from inkloop.io import validation_path
from tests._napari._fakes import fake_engines
from tests._napari._gui import drag, press

HELD = (10, 20, 50, 80)  # rows 10..49, columns 20..79 of the 64 x 96 segment


def _report(loop, *events) -> None:
    for event in events:
        loop.event_received.emit(loop.generation, event)


def _region(widget):
    return widget.run_settings().validation  # what the next engine would hold out


def _kept(widget):
    path = validation_path(widget.labels.segment)
    return tuple(json.loads(path.read_text())["validation_region"]) if path.exists() else None


def _run_holding(viewer, widget, qtbot, monkeypatch):
    """HELD drawn, then Finetune & preview on a fake engine that holds it out: the region's
    layer, made active with napari's select tool as a user would."""
    made = fake_engines(monkeypatch)
    widget.loop_panel.validation_button.click()
    shapes = viewer.layers[VALIDATION_LAYER]
    shapes.add_rectangles(box_corners(HELD))
    widget.loop_panel.finetune_button.click()
    qtbot.waitUntil(lambda: bool(made) and made[-1].starts == 1)
    assert made[-1].settings.validation == HELD
    viewer.layers.selection.active = shapes
    shapes.mode = "select"
    return shapes


def test_a_region_moved_during_a_run_is_put_back_until_the_run_stops(
    open_in_dock, segment_folder, qtbot, monkeypatch
):
    viewer, widget = open_in_dock(segment_folder)
    _run_holding(viewer, widget, qtbot, monkeypatch)
    _report(widget.loop, StateChanged(State.TRAINING, State.IDLE))

    drag(viewer, [(30, 50), (33, 55), (35, 60)], qtbot)  # grabbed inside, moved 5 down, 10 right
    qtbot.waitUntil(lambda: _region(widget) == HELD)
    assert _kept(widget) == HELD
    drag(viewer, [(30, 50), (33, 55), (35, 60)], qtbot)  # again: said once
    qtbot.waitUntil(lambda: _region(widget) == HELD)
    assert widget.loop_panel.status.text().count(STOP_FIRST_TIP) == 1

    _report(widget.loop, StateChanged(State.STOPPED, State.TRAINING))
    assert STOP_FIRST_TIP not in widget.loop_panel.status.text()
    drag(viewer, [(30, 50), (33, 55), (35, 60)], qtbot)
    moved = _region(widget)
    assert np.allclose(moved, (15, 30, 55, 90), atol=1)
    assert _kept(widget) == moved


def test_a_region_deleted_or_drawn_anew_while_paused_or_starting_is_put_back(
    open_in_dock, segment_folder, qtbot, monkeypatch
):
    viewer, widget = open_in_dock(segment_folder)
    shapes = _run_holding(viewer, widget, qtbot, monkeypatch)  # still starting: no state yet
    shapes.data = [box_corners((0, 0, 20, 20))]  # through the layer itself (console, plugin)
    qtbot.waitUntil(lambda: _region(widget) == HELD)
    _report(widget.loop, StateChanged(State.TRAINING, State.IDLE))
    _report(widget.loop, StateChanged(State.PAUSED, State.TRAINING))

    drag(viewer, [(30, 50)], qtbot)  # a click selects it
    press(viewer, "Delete")
    qtbot.waitUntil(lambda: _region(widget) == HELD)
    shapes.mode = "add_rectangle"  # the layer's own tool: Mark validation region is off
    drag(viewer, [(5, 5), (20, 30), (40, 60)], qtbot)
    qtbot.waitUntil(lambda: len(shapes.data) == 1 and _region(widget) == HELD)
    assert _kept(widget) == HELD
    assert STOP_FIRST_TIP in widget.loop_panel.status.text()

    _report(widget.loop, StateChanged(State.STOPPED, State.PAUSED))
    shapes.mode = "select"
    drag(viewer, [(30, 50)], qtbot)
    press(viewer, "Delete")
    assert _region(widget) is None
    assert _kept(widget) is None


def test_the_region_layer_deleted_during_a_run_comes_back(
    open_in_dock, segment_folder, qtbot, monkeypatch
):
    viewer, widget = open_in_dock(segment_folder)
    _run_holding(viewer, widget, qtbot, monkeypatch)
    _report(widget.loop, StateChanged(State.TRAINING, State.IDLE))

    viewer.layers.remove(VALIDATION_LAYER)  # the layer list's delete button

    qtbot.waitUntil(lambda: VALIDATION_LAYER in viewer.layers)
    assert _region(widget) == HELD
    assert _kept(widget) == HELD
    assert viewer.layers.selection.active is widget.labels.layer  # the brush paints on
    assert STOP_FIRST_TIP in widget.loop_panel.status.text()

    _report(widget.loop, StateChanged(State.STOPPED, State.TRAINING))
    viewer.layers.remove(VALIDATION_LAYER)  # now the region goes
    qtbot.waitUntil(lambda: _kept(widget) is None)
    assert VALIDATION_LAYER not in viewer.layers
    assert _region(widget) is None


def test_a_rectangle_drawn_during_a_run_without_a_region_is_taken_away(
    open_in_dock, segment_folder, qtbot, monkeypatch
):
    viewer, widget = open_in_dock(segment_folder)
    made = fake_engines(monkeypatch)
    widget.loop_panel.validation_button.click()
    shapes = viewer.layers[VALIDATION_LAYER]
    shapes.add_rectangles(box_corners(HELD))
    shapes.data = []  # its rectangle deleted: the layer stays, empty
    widget.loop_panel.finetune_button.click()
    qtbot.waitUntil(lambda: bool(made) and made[-1].starts == 1)
    _report(widget.loop, StateChanged(State.TRAINING, State.IDLE))
    assert made[-1].settings.validation is None

    viewer.layers.selection.active = shapes
    shapes.mode = "add_rectangle"
    drag(viewer, [(5, 5), (20, 30), (40, 60)], qtbot)

    qtbot.waitUntil(lambda: len(shapes.data) == 0)
    assert _region(widget) is None
    assert _kept(widget) is None
