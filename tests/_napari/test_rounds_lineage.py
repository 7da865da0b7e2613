"""A round the dock records of a checkpoint saved outside a run carries what its weights
continued from (CheckpointSaved.init), as `inkloop train`'s rounds do."""

from __future__ import annotations

from inkloop.engine import CheckpointSaved
from inkloop.rounds import read_rounds

PRETRAINED = {
    "checkpoint": "modelA.pt",
    "step": 20,
    "segment": "segA",
    "labels_hash": "abc",
    "init": None,
}


def test_a_dock_round_records_what_its_checkpoint_continued_from(
    open_in_dock, segment_folder, qtbot
):
    _, widget = open_in_dock(segment_folder)
    loop, keeper = widget.loop, widget.guide_panel.rounds

    loop._apply(loop.generation, CheckpointSaved("fresh.pt", 5))
    loop._apply(loop.generation, CheckpointSaved("continued.pt", 30, init=PRETRAINED))
    qtbot.waitUntil(lambda: len(read_rounds(keeper.path)) == 2)

    recorded = [(r.checkpoint, r.init) for r in read_rounds(keeper.path)]
    assert recorded == [("fresh.pt", None), ("continued.pt", PRETRAINED)]
