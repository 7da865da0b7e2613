"""r4 F2 (s5.py): a run that wrote the segment's own model and recorded no round (napari quit
or crashed mid-run) left the previous round naming the file, and the next session took that
round's held-out region for the model's: no warning, and its round claimed the region held
out throughout. The dock records each run's start in the rounds file; a start no round
followed makes the own model's training unknown."""

from __future__ import annotations

import numpy as np
import pytest

from inkloop._napari._held_out import UNRECORDED_TRAINING
from inkloop._napari._loop_panel import VALIDATION_LAYER
from inkloop._napari._rectangle import box_corners
from inkloop._napari._say import PREFIX
from inkloop.engine import CheckpointSaved, RunStarted, State, StateChanged, StepDone
from inkloop.io import checkpoint_path, open_segment, rounds_path
from inkloop.rounds import RunStart, append_round, new_round, read_history, read_rounds
from inkloop.synthetic import write_segment
from tests._napari._fakes import fake_engines, patch_in_dock
from tests._napari._gui import messages

REGION = (10, 20, 50, 80)  # held out in session 1, none in session 2, drawn again in 3


@pytest.fixture(autouse=True)
def _own_models_read(monkeypatch):
    """Any file does for the own model: the fake engines never load it."""
    patch_in_dock(monkeypatch, "unreadable_checkpoint", lambda path: None)


def _report(loop, *events) -> None:
    for event in events:
        loop.event_received.emit(loop.generation, event)


def _finetune(widget, made, qtbot, region=None) -> None:
    if region is not None:
        widget.loop_panel.validation_button.click()
        widget.viewer.layers[VALIDATION_LAYER].add_rectangles(box_corners(region))
    widget.loop_panel.finetune_button.click()
    qtbot.waitUntil(lambda: bool(made) and made[-1].starts > 0)
    _report(widget.loop, RunStarted(0, "resnet18", "cpu", "float32"))
    _report(widget.loop, StateChanged(State.TRAINING, State.IDLE))


def test_an_own_model_trained_by_a_run_with_no_round_warns_and_its_next_round_says_so(
    open_in_dock, segment_folder, tmp_path, qtbot, monkeypatch
):
    segment = open_segment(segment_folder)
    own, rounds_file = checkpoint_path(segment), rounds_path(segment)
    own.write_bytes(b"weights of session 1")
    ink, mask = np.asarray(segment.ink_labels), np.asarray(segment.mask)
    append_round(rounds_file, new_round(1, ink, mask, accepted_pixels=0, steps=21,
                 validation_f05=0.8, checkpoint=own, validation_region=REGION))  # fmt: skip
    made = fake_engines(monkeypatch)

    _, widget = open_in_dock(segment_folder)  # session 2: on from session 1's model
    _finetune(widget, made, qtbot)  # no region
    own.write_bytes(b"weights of session 2")  # its autosave, then napari is killed
    _report(
        widget.loop, StepDone(40, 0.5, 0.1, 9.0, 8, 0, None), CheckpointSaved(str(own), 40, True)
    )
    qtbot.waitUntil(lambda: isinstance(read_history(rounds_file)[-1], RunStart))
    left_by_the_kill = rounds_file.read_bytes()
    widget.open_segment(str(write_segment(tmp_path / "segB", 48, 80, 6, seed=4)), wait=True)
    rounds_file.write_bytes(left_by_the_kill)  # its closing round gone, as after a kill

    widget.open_segment(str(segment_folder), wait=True)  # session 3
    assert widget.model_panel.init == own
    shown = len(messages(0))
    _finetune(widget, made, qtbot, REGION)
    assert messages(shown) == [PREFIX + UNRECORDED_TRAINING]
    _report(widget.loop, StepDone(48, 0.5, 0.1, 9.0, 8, 0, None))
    _report(widget.loop, StateChanged(State.STOPPED, State.TRAINING))
    _report(widget.loop, CheckpointSaved(str(own), 48, autosave=True))  # the Stop's: a round
    qtbot.waitUntil(lambda: len(read_rounds(rounds_file)) == 2)
    assert read_rounds(rounds_file)[-1].validation_region == []  # not REGION throughout
