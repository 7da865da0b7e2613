"""The segment's own model continued at a reopen or a switch back (close1 F1): what its
training held out is read from its round, so a region it did not hold out warns that its F0.5
reads high, as weights trained in the same loop do. Where no round says (one from before the
record, or none), the engine's ModelBuilt tells what the checkpoint's last run held out, and
its earlier runs on the segment count as held out, as before the record (closing review C6
of session 41, finding 1): the dock held out the region it had. The warning names what the
dock can tell (review R1, finding 2): a run of its round may have left a region in that was
there all along (`inkloop train --validation none`, or before it held the dock's region
out), a run of this session held out the region it had, so only a region drawn or moved
since."""

from __future__ import annotations

import json

import numpy as np
import pytest

from inkloop._napari._held_out import LOADED_SAW_REGION, RECORDED_RUN_SAW_REGION, SEEN_REGION
from inkloop._napari._loop_panel import VALIDATION_LAYER
from inkloop._napari._rectangle import box_corners
from inkloop._napari._say import PREFIX
from inkloop.compose import Composition
from inkloop.engine import CheckpointSaved, ModelBuilt, State, StateChanged, StepDone
from inkloop.io import checkpoint_path, open_segment, rounds_path, save_validation_region
from inkloop.rounds import new_round, read_rounds
from inkloop.synthetic import write_segment
from tests._napari._fakes import fake_engines, patch_in_dock
from tests._napari._gui import messages

DRAWN = (10, 20, 50, 80)  # the region drawn after the reopen


@pytest.fixture(autouse=True)
def _own_models_read(monkeypatch):
    """Any file does for the own model: the fake engines never load it."""
    patch_in_dock(monkeypatch, "unreadable_checkpoint", lambda path: None)


def _draw_region(widget, box) -> None:
    widget.loop_panel.validation_button.click()
    widget.viewer.layers[VALIDATION_LAYER].add_rectangles(box_corners(box))


def _finetune(widget, made, qtbot) -> None:
    """Finetune & preview on a fake engine, up to the engine's start."""
    widget.loop_panel.finetune_button.click()
    qtbot.waitUntil(lambda: bool(made) and made[-1].starts > 0)


def _report(loop, *events) -> None:
    for event in events:
        loop.event_received.emit(loop.generation, event)


def _write_own_model(folder, held_out) -> None:
    """The segment's own model, and a round naming it that says its training held out
    ``held_out`` (None: the field left out, as rounds from before it were written)."""
    segment = open_segment(folder)
    own = checkpoint_path(segment)
    own.write_bytes(b"weights")
    ink, mask = np.asarray(segment.ink_labels), np.asarray(segment.mask)
    data = new_round(1, ink, mask, accepted_pixels=0, steps=5, validation_f05=None,
                     checkpoint=own).to_dict()  # fmt: skip
    data["validation_region"] = held_out
    if held_out is None:
        del data["validation_region"]
    rounds_path(segment).write_text(json.dumps(data) + "\n")


@pytest.mark.parametrize(
    ("held_out", "warned"),
    [
        ([], True),  # trained on every label
        ([0, 0, 40, 150], True),  # rows 40-50 of the region drawn were trained on
        ([0, 0, 60, 150], False),  # all of it held out
    ],
)
def test_a_reopened_own_model_warns_of_a_region_its_training_did_not_hold_out(
    open_in_dock, segment_folder, qtbot, monkeypatch, held_out, warned
):
    _write_own_model(segment_folder, held_out)
    made = fake_engines(monkeypatch)
    _, widget = open_in_dock(segment_folder)
    own = checkpoint_path(widget.labels.segment)
    assert widget.model_panel.init == own  # continued

    _draw_region(widget, DRAWN)
    shown = len(messages(0))
    _finetune(widget, made, qtbot)
    assert (made[-1].settings.init, made[-1].settings.validation) == (own, DRAWN)
    assert messages(shown) == ([PREFIX + RECORDED_RUN_SAW_REGION] if warned else [])


@pytest.mark.parametrize(
    ("labels", "warned"),
    [
        ({"validation": list(DRAWN)}, False),  # its last run held the region out
        ({"validation": None}, True),  # its last run trained on every label
        ({}, False),  # a checkpoint from before labels.validation: unknown, clean as before
    ],
)
def test_an_own_model_whose_round_predates_the_record_is_judged_by_its_last_run(
    open_in_dock, segment_folder, qtbot, monkeypatch, labels, warned
):
    """An upgrading user's own model, continued over sessions (its lineage keeps one link on
    the segment itself, whose region no checkpoint keeps), with the region kept all along."""
    _write_own_model(segment_folder, None)
    save_validation_region(open_segment(segment_folder), DRAWN)
    made = fake_engines(monkeypatch)
    _, widget = open_in_dock(segment_folder)
    loop, own = widget.loop, checkpoint_path(widget.labels.segment)
    assert widget.model_panel.init == own  # continued
    shown = len(messages(0))
    _finetune(widget, made, qtbot)
    assert (made[-1].settings.init, made[-1].settings.validation) == (own, DRAWN)
    name = widget.labels.segment.name
    earlier = {"checkpoint": own.name, "step": 5, "segment": name, "labels_hash": "x", "init": None}
    provenance = {"segment": name, "labels": labels, "init": earlier}  # as the engine reads it
    _report(loop, ModelBuilt("resnet18", Composition().resolve(8), 0, provenance=provenance))
    assert messages(shown) == ([PREFIX + LOADED_SAW_REGION] if warned else [])

    _report(loop, StateChanged(State.TRAINING, State.IDLE), StepDone(6, 0.5, 0.1, 9.0, 8, 0, None))
    _report(loop, StateChanged(State.STOPPED, State.TRAINING))
    _report(loop, CheckpointSaved(str(own), 6, autosave=True))  # the Stop's: a round
    qtbot.waitUntil(lambda: len(widget.guide_panel.rounds.rounds) == 2)
    recorded = read_rounds(rounds_path(widget.labels.segment))[-1].validation_region
    assert recorded == ([] if warned else list(DRAWN))


def test_a_switch_back_to_a_segment_trained_without_a_region_warns(
    open_in_dock, segment_folder, tmp_path, qtbot, monkeypatch
):
    """Train A with no region, switch to B and back, draw a region, Finetune: A's own model
    trained on the region's labels. The round of A's Stop says so."""
    made = fake_engines(monkeypatch)
    _, widget = open_in_dock(segment_folder)
    loop, own = widget.loop, checkpoint_path(widget.labels.segment)
    _finetune(widget, made, qtbot)
    _report(loop, StateChanged(State.TRAINING, State.IDLE), StepDone(1, 0.5, 0.1, 9.0, 8, 0, None))
    own.write_bytes(b"weights")  # the fake engine's autosave
    _report(loop, CheckpointSaved(str(own), 1, autosave=True))
    _report(loop, StateChanged(State.STOPPED, State.TRAINING))
    _report(loop, CheckpointSaved(str(own), 1, autosave=True))  # the Stop's: a round
    made[-1].starts = 0
    qtbot.waitUntil(lambda: len(widget.guide_panel.rounds.rounds) == 1)  # written
    assert read_rounds(rounds_path(widget.labels.segment))[-1].validation_region == []

    widget.open_segment(str(write_segment(tmp_path / "segB", 48, 80, 6, seed=4)), wait=True)
    widget.open_segment(str(segment_folder), wait=True)  # back: continues from A's own model
    assert widget.model_panel.init == own
    _draw_region(widget, DRAWN)
    shown = len(messages(0))
    _finetune(widget, made, qtbot)
    assert made[-1].settings.init == own
    assert messages(shown) == [PREFIX + RECORDED_RUN_SAW_REGION]


def test_a_region_kept_all_along_names_the_run_that_left_it_in_then_a_move_since(
    open_in_dock, segment_folder, qtbot, monkeypatch
):
    """R1's s14: the region kept beside the labels, then `inkloop train` continued the own
    model without holding it out (its round: []). The reopened dock must not say the region
    was drawn or moved since; after a run of its own, moving the region is what it says."""
    _write_own_model(segment_folder, [])
    save_validation_region(open_segment(segment_folder), DRAWN)
    made = fake_engines(monkeypatch)
    _, widget = open_in_dock(segment_folder)  # the region restored, the own model continued
    loop, own = widget.loop, checkpoint_path(widget.labels.segment)
    shown = len(messages(0))
    _finetune(widget, made, qtbot)
    assert (made[-1].settings.init, made[-1].settings.validation) == (own, DRAWN)
    assert messages(shown) == [PREFIX + RECORDED_RUN_SAW_REGION]
    _report(loop, StateChanged(State.TRAINING, State.IDLE), StepDone(1, 0.5, 0.1, 9.0, 8, 0, None))
    _report(loop, StateChanged(State.STOPPED, State.TRAINING))
    _report(loop, CheckpointSaved(str(own), 1, autosave=True))  # it held DRAWN out
    made[-1].starts = 0

    moved = (30, 20, 60, 80)  # rows 50-60 trained on by this session's run
    widget.viewer.layers[VALIDATION_LAYER].data = [box_corners(moved)]
    shown = len(messages(0))
    _finetune(widget, made, qtbot)
    assert (made[-1].settings.init, made[-1].settings.validation) == (own, moved)
    assert messages(shown) == [PREFIX + SEEN_REGION]
