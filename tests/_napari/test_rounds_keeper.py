"""The rounds the dock records: accepted pixels counted over every session of a segment, and
round numbers that go on past a line of the rounds file that cannot be read, and past the
rounds another process recorded while the dock was open."""

from __future__ import annotations

import dataclasses
import json

import numpy as np

from inkloop.brush import UNLABELLED
from inkloop.engine import CheckpointSaved, Validated
from inkloop.io import open_segment, rounds_path
from inkloop.rounds import append_round, new_round, read_rounds


def test_rounds_count_accepted_pixels_across_sessions_and_number_past_a_broken_line(
    open_in_dock, segment_folder
):
    segment = open_segment(segment_folder)
    ink, mask = np.asarray(segment.ink_labels), np.asarray(segment.mask)
    earlier = new_round(
        2, ink, mask, accepted_pixels=100, steps=10, validation_f05=None, checkpoint=None
    )  # an earlier session's; its round 1 is a line no longer readable
    rounds_path(segment).write_text(f"null\n{json.dumps(earlier.to_dict())}\n")
    _, widget = open_in_dock(segment_folder)
    keeper, painter = widget.guide_panel.rounds, widget.labels.painter
    assert keeper.rounds == [earlier]

    box, prediction = (0, 0, 16, 40), np.full(painter.canvas.shape, 201, np.uint16)
    painter.set_brush(mode="erase", radius=6)
    painter.stamp_along([(8, 6), (8, 34)])  # accepting fills unlabelled pixels only
    changed = int((painter.canvas.codes[:16, :40] == UNLABELLED).sum())
    assert changed
    painter.accept_box(box, prediction)
    painter.accept_box(box, prediction)  # again: nothing more changes
    keeper.record(None, 0)
    painter.undo()
    keeper.record(None, 0).result()  # written off the GUI thread, in order

    recorded = [(r.number, r.accepted_pixels) for r in read_rounds(keeper.path)]
    assert recorded == [(2, 100), (3, 100 + changed), (4, 100)]


def test_the_dock_numbers_rounds_past_those_another_process_recorded(
    open_in_dock, segment_folder, qtbot
):
    _, widget = open_in_dock(segment_folder)
    keeper = widget.guide_panel.rounds
    segment = widget.labels.segment
    ink, mask = np.asarray(segment.ink_labels), np.asarray(segment.mask)
    cli = new_round(1, ink, mask, accepted_pixels=0, steps=5, validation_f05=None,
                    checkpoint="cli.pt")  # fmt: skip
    append_round(keeper.path, cli)  # `inkloop train`, while the dock is open

    keeper.record("dock.pt", 7).result()
    qtbot.waitUntil(lambda: "dock.pt" in [r.checkpoint for r in keeper.rounds])  # GUI thread

    assert [(r.number, r.checkpoint) for r in read_rounds(keeper.path)] == [
        (1, "cli.pt"),
        (2, "dock.pt"),
    ]
    assert [r.checkpoint for r in keeper.rounds] == ["cli.pt", "dock.pt"]  # the plot shows both


def test_a_round_records_the_validation_score_of_its_own_step_and_region_only(
    open_in_dock, segment_folder, qtbot
):
    """A Stop between two validations, or a round after the region was removed, recorded the
    last score heard in the session: one the recorded weights never had."""
    _, widget = open_in_dock(segment_folder)
    loop, keeper = widget.loop, widget.guide_panel.rounds
    region = (0, 0, 32, 48)
    loop.settings = dataclasses.replace(loop.settings, validation=region)
    for event in (
        Validated(60, 0.61, 0.7, 0.4, 0.5),
        CheckpointSaved("model.pt", 60, True),  # scored at its step: its own
        CheckpointSaved("model.pt", 95, True),  # stopped 35 steps after the last score
    ):
        loop._apply(loop.generation, event)
    loop.settings = dataclasses.replace(loop.settings, validation=None)  # region removed
    loop._apply(loop.generation, CheckpointSaved("model.pt", 60))  # step 60's weights saved
    qtbot.waitUntil(lambda: len(read_rounds(keeper.path)) == 3)

    recorded = [(r.steps, r.validation_f05) for r in read_rounds(keeper.path)]
    assert recorded == [(60, 0.61), (95, None), (60, None)]
