"""Rounds beside the labels: appended atomically, readable after a crash, hashed labels."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest

from inkloop._checkpoint_round import run_facts
from inkloop._notify import InkloopWarning
from inkloop.rounds import (
    append_round,
    labels_hash,
    new_round,
    next_number,
    read_rounds,
)


def _labels(seed: int = 0):
    rng = np.random.default_rng(seed)
    ink = np.where(rng.random((40, 50)) < 0.3, 255, 0).astype(np.uint8)
    supervised = rng.random((40, 50)) < 0.5
    return ink, supervised


def test_a_round_counts_the_labels_and_hashes_them():
    ink, supervised = _labels()
    round_ = new_round(
        1, ink, supervised, accepted_pixels=7, steps=120, validation_f05=0.41234, checkpoint=None
    )
    assert round_.ink_pixels == np.count_nonzero(supervised & (ink == 255))
    assert round_.no_ink_pixels == np.count_nonzero(supervised & (ink == 0))
    assert (round_.accepted_pixels, round_.steps, round_.validation_f05) == (7, 120, 0.4123)
    assert round_.labels_hash == labels_hash(ink, supervised)
    unlabelled_ink = np.where(supervised, ink, 255).astype(np.uint8)
    assert labels_hash(unlabelled_ink, supervised) == round_.labels_hash  # only labels count
    changed = ink.copy()
    changed[supervised.nonzero()[0][0], supervised.nonzero()[1][0]] ^= 255
    assert labels_hash(changed, supervised) != round_.labels_hash


def test_rounds_append_in_order_and_survive_a_torn_write(tmp_path: Path):
    path = tmp_path / "seg_rounds.jsonl"
    ink, supervised = _labels()
    for number, steps in ((1, 50), (2, 90)):
        round_ = new_round(
            number,
            ink,
            supervised,
            accepted_pixels=0,
            steps=steps,
            validation_f05=None,
            checkpoint=str(tmp_path / "m.pt"),
        )
        append_round(path, round_)
    assert [(r.number, r.steps) for r in read_rounds(path)] == [(1, 50), (2, 90)]
    with path.open("ab") as file:  # a crash of another writer, halfway through a line
        file.write(b'{"number": 3, "time": "2026-')
    assert [r.number for r in read_rounds(path)] == [1, 2]
    append_round(
        path,
        new_round(
            3, ink, supervised, accepted_pixels=0, steps=99, validation_f05=None, checkpoint=None
        ),
    )
    assert [r.number for r in read_rounds(path)] == [1, 2, 3]
    assert not [p for p in os.listdir(tmp_path) if p.endswith(".tmp")]


def test_lines_that_are_not_rounds_are_skipped_and_numbers_follow_the_highest(tmp_path: Path):
    path = tmp_path / "seg_rounds.jsonl"
    ink, supervised = _labels()
    second = new_round(
        2, ink, supervised, accepted_pixels=0, steps=2, validation_f05=None, checkpoint=None
    )
    good = json.dumps(second.to_dict())
    bad = [
        "null",
        "[1]",
        '"round"',
        "3",
        '{"number": 1}',
        good.replace('"steps": 2', '"steps": "2"'),
    ]
    path.write_text("\n".join([*bad, good]) + "\n")
    with pytest.warns(InkloopWarning) as said:
        assert read_rounds(path) == [second]
    assert len([w for w in said if "is not a round" in str(w.message)]) == len(bad)
    assert next_number(read_rounds(path)) == 3  # round 1 unreadable: still no second round 2
    assert next_number([]) == 1


def test_a_failed_append_keeps_the_old_rounds(tmp_path: Path, monkeypatch):
    path = tmp_path / "seg_rounds.jsonl"
    ink, supervised = _labels()
    first = new_round(
        1, ink, supervised, accepted_pixels=0, steps=1, validation_f05=None, checkpoint=None
    )
    append_round(path, first)
    monkeypatch.setattr(os, "fsync", lambda fd: (_ for _ in ()).throw(OSError("disk full")))
    with pytest.raises(OSError, match="disk full"):
        append_round(path, first)
    assert read_rounds(path) == [first]
    assert sorted(os.listdir(tmp_path)) == [".seg_rounds.jsonl.lock", "seg_rounds.jsonl"]


def test_inkloop_info_names_the_round_a_checkpoint_was_trained_on(segment_folder, tmp_path):
    from inkloop.checkpoint import describe_checkpoint
    from inkloop.io import open_segment
    from tests._engine import engine_for
    from tests._events import Recorder

    segment = open_segment(segment_folder)
    with engine_for(segment, Recorder()) as engine:
        engine.save(tmp_path / "model.pt")
        engine.wait()
    info = describe_checkpoint(tmp_path / "model.pt")
    assert info["round"] is None  # no round recorded for these labels yet
    ink, mask = np.asarray(segment.ink_labels), np.asarray(segment.mask)
    assert info["provenance"]["labels"]["hash"] == labels_hash(ink, mask)
    rounds_file = Path(info["provenance"]["rounds_file"])
    assert rounds_file == segment_folder / f"{segment.name}_rounds.jsonl"
    run = run_facts(info["provenance"])  # the id of the run that made it
    other = new_round(1, ink, ~mask, accepted_pixels=0, steps=0, validation_f05=None,
                      checkpoint=None)  # fmt: skip
    this = new_round(2, ink, mask, accepted_pixels=5, steps=0, validation_f05=None,
                     checkpoint=str(tmp_path / "model.pt"), run=run)  # fmt: skip
    later = new_round(3, ink, mask, accepted_pixels=5, steps=120, validation_f05=None,
                      checkpoint=str(tmp_path / "longer.pt"), run=run)  # fmt: skip
    for round_ in (other, this, later):  # the same labels trained on longer: another file's
        append_round(rounds_file, round_)
    assert describe_checkpoint(tmp_path / "model.pt")["round"] == this.to_dict()


def test_inkloop_info_finds_the_round_once_the_segment_folder_moved(segment_folder, tmp_path):
    """The rounds file's path is stored absolute: a folder copied to another machine (or
    moved) has its rounds beside the checkpoint, as <segment>_rounds.jsonl."""
    from inkloop.checkpoint import describe_checkpoint
    from inkloop.io import open_segment, rounds_path
    from tests._engine import engine_for
    from tests._events import Recorder

    segment = open_segment(segment_folder)
    with engine_for(segment, Recorder()) as engine:
        engine.save(segment_folder / "model.pt")
        engine.wait()
    ink, mask = np.asarray(segment.ink_labels), np.asarray(segment.mask)
    run = run_facts(describe_checkpoint(segment_folder / "model.pt")["provenance"])
    this = new_round(1, ink, mask, accepted_pixels=0, steps=0, validation_f05=None,
                     checkpoint=str(segment_folder / "model.pt"), run=run)  # fmt: skip
    append_round(rounds_path(segment), this)
    moved = segment_folder.rename(tmp_path / "workstation")
    moved = moved.rename(moved.with_name("elsewhere"))  # any folder name: the id is stored
    assert describe_checkpoint(moved / "model.pt")["round"] == this.to_dict()


def test_a_moved_checkpoint_finds_its_rounds_file_by_the_name_it_had(tmp_path):
    """`inkloop train` on labels from a prediction image keeps the rounds beside the
    checkpoint (model.pt -> model_rounds.jsonl): found there once both moved."""
    import dataclasses

    from inkloop.checkpoint import _round_of, load_checkpoint
    from tests._helpers import save_tiny_checkpoint

    box = tmp_path / "box"
    box.mkdir()
    checkpoint = load_checkpoint(save_tiny_checkpoint(box / "model.pt"))  # step 7
    ink, supervised = _labels()
    this = new_round(1, ink, supervised, accepted_pixels=0, steps=7, validation_f05=None,
                     checkpoint="/laptop/run/model.pt")  # fmt: skip
    append_round(box / "model_rounds.jsonl", this)
    provenance = {
        "segment": "20240101000000",
        "labels": {"hash": this.labels_hash},
        "rounds_file": "/laptop/run/model_rounds.jsonl",  # not on this machine
    }
    moved = dataclasses.replace(checkpoint, provenance=provenance)
    assert _round_of(moved, box / "model.pt") == this.to_dict()


def test_a_round_says_what_its_training_held_out_and_an_older_round_reads_as_unknown(
    tmp_path: Path,
):
    """close1 F1: the dock reads what the segment's own model held out from its round. A
    round from before the record reads (unknown); a malformed region is not a round."""
    from inkloop.rounds import held_out_behind

    path = tmp_path / "seg_rounds.jsonl"
    ink, supervised = _labels()
    facts = dict(accepted_pixels=0, steps=5, validation_f05=None)
    everything = new_round(1, ink, supervised, **facts, checkpoint="/old/seg_inkloop_model.pt")
    older = {k: v for k, v in everything.to_dict().items() if k != "validation_region"}
    held = new_round(2, ink, supervised, **facts, checkpoint="other.pt",
                     validation_region=(1, 2, 30, 40))  # fmt: skip
    malformed = dict(held.to_dict(), validation_region=[1, 2, 3])
    lines = [everything.to_dict(), older, held.to_dict(), malformed]
    path.write_text("".join(json.dumps(line) + "\n" for line in lines))

    with pytest.warns(InkloopWarning) as said:
        rounds = read_rounds(path)
    assert [r.validation_region for r in rounds] == [[], None, [1, 2, 30, 40]]
    assert len([w for w in said if "validation_region" in str(w.message)]) == 1
    assert held_out_behind(rounds, "seg_inkloop_model.pt") == ()  # its newest round: unknown
    assert held_out_behind(rounds[:1], "/moved/seg_inkloop_model.pt") == (None,)  # by name
    assert held_out_behind(rounds, tmp_path / "other.pt") == ((1, 2, 30, 40),)
    assert held_out_behind(rounds, "never_recorded.pt") == ()


def test_what_a_run_held_out_is_its_region_inside_those_of_the_training_it_went_on_from():
    from inkloop.rounds import held_out_by_run, held_out_throughout

    assert held_out_throughout(((0, 0, 50, 60), (10, 20, 80, 90))) == (10, 20, 50, 60)
    assert held_out_throughout(((0, 0, 10, 10), (20, 20, 30, 30))) is None  # none in all
    assert held_out_throughout((None, (0, 0, 10, 10))) is None
    assert held_out_throughout(()) is None
    ink, supervised = _labels()
    trained_on_all = new_round(1, ink, supervised, accepted_pixels=0, steps=5,
                               validation_f05=None, checkpoint="/x/a.pt")  # fmt: skip
    region = (5, 5, 20, 20)
    assert held_out_by_run([trained_on_all], None, region) == region  # a fresh model
    assert held_out_by_run([trained_on_all], "/y/a.pt", region) is None
    assert held_out_by_run([trained_on_all], "/y/b.pt", region) is None  # unknown: not vouched
