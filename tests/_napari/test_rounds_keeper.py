"""The rounds the dock records: accepted pixels counted over every session of a segment, and
round numbers that go on past a line of the rounds file that cannot be read, and past the
rounds another process recorded while the dock was open."""

from __future__ import annotations

import json

import numpy as np

from inkloop.brush import UNLABELLED
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
