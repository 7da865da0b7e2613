"""A model loaded in the dock (Model → Load…) is known for what its training held out of the
segment's labels, from what its checkpoint records, sent up with the engine's ModelBuilt
(review RD of session 41, finding 1): one that trained on the validation region's labels
warns that the region's F0.5 will read high, and its round records that nothing was held
out, as `inkloop train --init` records it; one of another segment stays clean; one that does
not record its segment is said to be not known (closing review C6, finding 2)."""

from __future__ import annotations

import pytest

from inkloop._napari._held_out import LOADED_SAW_REGION, LOADED_UNRECORDED
from inkloop._napari._say import PREFIX
from inkloop.compose import Composition
from inkloop.engine import CheckpointSaved, ModelBuilt, State, StateChanged, StepDone
from inkloop.io import checkpoint_path, open_segment, rounds_path, save_validation_region
from inkloop.rounds import read_rounds
from tests._napari._fakes import fake_engines, write_torch_zip
from tests._napari._gui import messages

REGION = (10, 20, 50, 80)  # the validation region kept beside the labels


def _report(loop, *events) -> None:
    for event in events:
        loop.event_received.emit(loop.generation, event)


@pytest.mark.parametrize(
    ("trained_on", "held_out", "warned", "recorded"),
    [
        ("own", None, LOADED_SAW_REGION, []),  # trained on every label of this segment
        ("own", list(REGION), None, list(REGION)),  # held the region out
        ("another", None, None, list(REGION)),  # never saw this segment
        # a Trainer-API model, say: no segment recorded, so not known (C6 of session 41, #2)
        (None, None, LOADED_UNRECORDED, []),
    ],
)
def test_a_loaded_model_is_known_by_its_checkpoints_records(
    open_in_dock,
    segment_folder,
    tmp_path,
    qtbot,
    monkeypatch,
    trained_on,
    held_out,
    warned,
    recorded,
):
    save_validation_region(open_segment(segment_folder), REGION)
    made = fake_engines(monkeypatch)
    _, widget = open_in_dock(segment_folder)
    loop, own = widget.loop, checkpoint_path(widget.labels.segment)
    older = tmp_path / "day1.pt"
    write_torch_zip(older)
    assert widget.model_panel.load_model(older)
    shown = len(messages(0))
    widget.loop_panel.finetune_button.click()
    qtbot.waitUntil(lambda: bool(made) and made[-1].starts > 0)
    assert (made[-1].settings.init, made[-1].settings.validation) == (older, REGION)

    segment = {"own": widget.labels.segment.name, "another": "20200101000000"}.get(trained_on)
    provenance = {"segment": segment, "labels": {"validation": held_out}}
    if trained_on is None:
        provenance = {"trained_on": {"device": "cpu"}, "software": {"inkloop": "0.1.0"}}
    composition = Composition().resolve(8)  # the 8-layer segment
    _report(loop, ModelBuilt("resnet18", composition, 0, provenance=provenance))
    assert messages(shown) == ([PREFIX + warned] if warned else [])

    _report(loop, StateChanged(State.TRAINING, State.IDLE), StepDone(1, 0.5, 0.1, 9.0, 8, 0, None))
    own.write_bytes(b"weights")  # the fake engine's autosave
    _report(loop, CheckpointSaved(str(own), 1, autosave=True))
    _report(loop, StateChanged(State.STOPPED, State.TRAINING))
    _report(loop, CheckpointSaved(str(own), 1, autosave=True))  # the Stop's: a round
    qtbot.waitUntil(lambda: len(widget.guide_panel.rounds.rounds) == 1)
    assert read_rounds(rounds_path(widget.labels.segment))[-1].validation_region == recorded
