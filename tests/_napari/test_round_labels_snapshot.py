"""The rounds the dock records say which run made their checkpoint (CheckpointSaved.run), and
the labels it trained on (those of its last step, not strokes painted since), as
`inkloop train`'s do; the round of a run the dock lets go of mid-run has the id and lineage
its RunStarted told (provenance review R2 #2, #3)."""

from __future__ import annotations

from inkloop.engine import CheckpointSaved, RunStarted, State, StateChanged
from inkloop.rounds import read_rounds

PRETRAINED = {"checkpoint": "a.pt", "step": 20, "segment": "segA", "labels_hash": "h", "init": None}


def test_a_dock_round_carries_the_run_its_checkpoint_records(open_in_dock, segment_folder, qtbot):
    _, widget = open_in_dock(segment_folder)
    loop, keeper = widget.loop, widget.guide_panel.rounds

    loop._apply(loop.generation, CheckpointSaved("m.pt", 5, run={"run": "run-1"}))
    qtbot.waitUntil(lambda: len(read_rounds(keeper.path)) == 1)

    assert read_rounds(keeper.path)[0].run == "run-1"


def test_a_run_let_go_of_mid_run_records_the_run_and_init_it_began_with(
    open_in_dock, segment_folder, qtbot
):
    """A segment switch or the dock closing mid-run: no CheckpointSaved of the run's end is
    heard, so the dock records the round itself (`_end_round`)."""
    _, widget = open_in_dock(segment_folder)
    loop, keeper = widget.loop, widget.guide_panel.rounds
    autosave = str(loop.settings.autosave)
    began = RunStarted(20, "resnet18", "cpu", "float32", run="run-2", init=PRETRAINED)
    for event in (began, StateChanged(State.TRAINING, State.IDLE)):
        loop._apply(loop.generation, event)

    widget.guide_panel._end_round()
    qtbot.waitUntil(lambda: len(read_rounds(keeper.path)) == 1)

    (round_,) = read_rounds(keeper.path)
    assert (round_.checkpoint, round_.run, round_.init) == (autosave, "run-2", PRETRAINED)


def test_a_dock_round_names_the_labels_its_checkpoint_trained_on_not_those_of_now(
    open_in_dock, segment_folder, qtbot
):
    """R2 #3: a Save after Stop and more strokes recorded the canvas of now, which no step
    saw; the engine's CheckpointSaved says what the run's last step trained on."""
    _, widget = open_in_dock(segment_folder)
    loop, keeper = widget.loop, widget.guide_panel.rounds
    trained = {"supervised_pixels": 40, "ink_pixels": 9, "soft_pixels": 0, "validation": None,
               "updates": 3, "hash": "0123456789abcdef"}  # fmt: skip

    loop._apply(loop.generation, CheckpointSaved("m.pt", 5, run={"run": "r", "labels": trained}))
    qtbot.waitUntil(lambda: len(read_rounds(keeper.path)) == 1)

    (round_,) = read_rounds(keeper.path)
    assert (round_.ink_pixels, round_.no_ink_pixels, round_.labels_hash) == (9, 31, trained["hash"])
