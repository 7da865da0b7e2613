"""The validation region's layer renamed in the layer list (r1 F3) is still the region: the
next run holds its labels out and its round records it, an edit on it moves the region (its
file follows), the Validation region button draws on it, and a dock opened again follows it
(not a copy of it made with Duplicate Layer)."""

from __future__ import annotations

from napari.layers._layer_actions import _duplicate_layer

from inkloop._napari._loop_panel import VALIDATION_LAYER
from inkloop._napari._rectangle import box_corners
from inkloop.engine import CheckpointSaved, State, StateChanged, StepDone
from inkloop.io import read_validation_region, rounds_path
from inkloop.rounds import read_rounds
from tests._napari._fakes import fake_engines

BOX = (10, 20, 40, 70)
RENAMED = "holdout (do not train)"


def _renamed_region(widget):
    """A region drawn, then its layer renamed (as a double-click in the layer list does)."""
    widget.loop_panel.validation_button.click()
    layer = widget.viewer.layers[VALIDATION_LAYER]
    layer.add_rectangles(box_corners(BOX))
    layer.name = RENAMED
    return widget.viewer.layers[RENAMED]


def _report(loop, *events) -> None:
    for event in events:
        loop.event_received.emit(loop.generation, event)


def test_a_run_holds_the_renamed_region_out_and_its_round_records_it(
    segment_widget, qtbot, monkeypatch
):
    made = fake_engines(monkeypatch)
    _renamed_region(segment_widget)
    loop = segment_widget.loop

    segment_widget.loop_panel.finetune_button.click()
    qtbot.waitUntil(lambda: bool(made) and made[-1].starts > 0)
    assert made[-1].settings.validation == BOX
    _report(loop, StateChanged(State.TRAINING, State.IDLE), StepDone(1, 0.5, 0.1, 9.0, 8, 0, None))
    _report(loop, StateChanged(State.STOPPED, State.TRAINING), CheckpointSaved("m.pt", 1))

    qtbot.waitUntil(lambda: len(segment_widget.guide_panel.rounds.rounds) == 1)
    (round_,) = read_rounds(rounds_path(segment_widget.labels.segment))
    assert round_.validation_region == list(BOX)


def test_an_edit_on_the_renamed_region_moves_the_region(segment_widget):
    layer = _renamed_region(segment_widget)
    segment = segment_widget.labels.segment

    layer.data = [box_corners((5, 5, 30, 50))]  # moved, as the select tool does

    assert read_validation_region(segment) == (5, 5, 30, 50)
    assert segment_widget.run_settings().validation == (5, 5, 30, 50)
    assert "rows 5–30, columns 5–50" in segment_widget.loop_panel.status.text()

    segment_widget.loop_panel.validation_button.click()  # drawn again: on the same layer
    layer.add_rectangles(box_corners(BOX))
    assert VALIDATION_LAYER not in segment_widget.viewer.layers
    assert len(layer.data) == 1
    assert read_validation_region(segment) == BOX


def test_a_dock_opened_again_follows_the_renamed_region(open_in_dock, segment_folder):
    viewer, widget = open_in_dock(segment_folder)
    layer = _renamed_region(widget)
    viewer.layers.selection.active = layer
    _duplicate_layer(viewer.layers)  # a copy (above it) keeps its metadata: not the region
    viewer.layers[f"{RENAMED} copy"].data = [box_corners((60, 60, 64, 90))]
    viewer.window.remove_dock_widget(widget)

    old, (_, widget) = widget, viewer.window.add_plugin_dock_widget("napari-inkloop", "Ink Loop")
    assert widget is not old  # a dock made anew

    assert widget.run_settings().validation == BOX
    assert VALIDATION_LAYER not in viewer.layers  # no second layer from the file
    layer.data = [box_corners((5, 5, 30, 50))]
    assert read_validation_region(widget.labels.segment) == (5, 5, 30, 50)
