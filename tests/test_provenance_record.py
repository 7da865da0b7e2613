"""What a checkpoint and its round record of the training behind them (provenance review R2):
what a continued model's training held out where its init's round is elsewhere (#1)."""

from __future__ import annotations

import dataclasses

import pytest

from inkloop.checkpoint import load_checkpoint, save_checkpoint
from inkloop.rounds import UNRECORDED, held_out_by_checkpoint, held_out_by_run, read_rounds
from tests._helpers import save_tiny_checkpoint, tiny_model, tiny_training

REGION = (0, 0, 48, 64)


def _trained(segment, validation=None, init=None, **labels) -> dict:
    """The provenance of a checkpoint trained on ``segment`` holding out ``validation``."""
    return {"segment": segment, "labels": {"validation": validation, **labels}, "init": init}


@pytest.mark.parametrize(
    ("provenance", "held"),
    [
        (_trained("segA"), (None,)),  # trained on every label of segA
        (_trained("segA", [10, 10, 40, 40]), ((10, 10, 40, 40),)),
        (_trained("segB"), ()),  # never saw segA's labels
        (_trained("segB", init=_trained("segA") | {"step": 20}), (UNRECORDED,)),
        (_trained("segA", init=_trained("segA") | {"step": 20}), (UNRECORDED,)),
        ({"segment": "segA", "labels": {"hash": "h"}}, (UNRECORDED,)),  # before the record
        ({}, (UNRECORDED,)),
    ],
)
def test_what_a_checkpoint_records_it_held_out_of_a_segment(provenance, held):
    assert held_out_by_checkpoint(provenance, "segA") == held


def test_an_init_no_round_names_is_never_taken_to_have_held_the_region_out():
    """Repro: m1 trained on all of segA; a run from it on other labels of segA (another
    rounds file) holding out 0:96,0:96 recorded that region as held out of all training."""
    region = (0, 0, 96, 96)
    assert held_out_by_run([], "m1.pt", region) is None  # unknown: nothing vouched for
    assert (
        held_out_by_run([], "m1.pt", region, held_out_by_checkpoint(_trained("segA"), "segA"))
        is None
    )
    elsewhere = held_out_by_checkpoint(_trained("segB"), "segA")
    assert held_out_by_run([], "m1.pt", region, elsewhere) == region


@pytest.mark.parametrize(("init_segment", "recorded"), [("same", []), ("segB", list(REGION))])
def test_inkloop_trains_round_of_a_model_from_elsewhere_holds_out_what_its_init_did_not_see(
    training_folder, tmp_path, init_segment, recorded
):
    from inkloop.headless import train_to_file
    from inkloop.io import load_labels, open_segment
    from inkloop.settings import EngineSettings

    segment = open_segment(training_folder)
    ink, supervised, _ = load_labels(segment)
    name = segment.name if init_segment == "same" else init_segment
    init = load_checkpoint(save_tiny_checkpoint(tmp_path / "m1.pt"))
    save_checkpoint(init.source, dataclasses.replace(init, provenance=_trained(name)))
    rounds = tmp_path / "labels_v2_rounds.jsonl"  # --labels OTHER.png: m1's round is not here
    settings = EngineSettings(
        model=tiny_model(), train=tiny_training(max_steps=1), init=init.source, validation=REGION
    )
    train_to_file(segment, ink, supervised, settings, tmp_path / "m5.pt", rounds=rounds)

    assert read_rounds(rounds)[-1].validation_region == recorded
