"""A model file trained further after its last round (r4 F2): napari quit or crashed in the run
that wrote it, so no round describes it. The dock writes a `RunStart` line as each run that
writes the file begins; a round naming the file after it describes the file again."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np
import pytest

from inkloop._notify import InkloopWarning
from inkloop.rounds import (
    UNRECORDED,
    append_round,
    append_run_round,
    append_run_start,
    held_out_behind,
    held_out_by_run,
    new_round,
    read_history,
    read_rounds,
)

REGION = (96, 0, 129, 256)  # the validation region of the first session, drawn again later


def _labels():
    rng = np.random.default_rng(0)
    return np.where(rng.random((40, 50)) < 0.3, 255, 0).astype(np.uint8), rng.random((40, 50)) < 0.5


def _round(checkpoint, steps: int, region=REGION):
    ink, supervised = _labels()
    return new_round(0, ink, supervised, accepted_pixels=0, steps=steps, validation_f05=0.8,
                     checkpoint=checkpoint, validation_region=region)  # fmt: skip


def test_an_own_model_trained_after_its_last_round_held_out_nothing_known(tmp_path: Path):
    """s5.py: 1. a run holding out REGION, its round; 2. a run from that model holding out
    nothing, ended by a quit (its start recorded, no round); 3. REGION drawn again: the
    model's training is unknown (the dock warns), and the next round records nothing held
    out, not REGION."""
    path, own = tmp_path / "seg_rounds.jsonl", tmp_path / "seg_inkloop_model.pt"
    append_round(path, _round(own, 21))
    assert held_out_behind(read_history(path), own) == (REGION,)

    append_run_start(path, own)  # session 2's run; napari quits before its round
    history = read_history(path)
    assert held_out_behind(history, "/moved/seg_inkloop_model.pt") == (UNRECORDED,)
    assert held_out_by_run(history, own, REGION) is None  # session 3's region: not clean
    assert held_out_behind(history, tmp_path / "other.pt") == ()  # names another file

    ink, supervised = _labels()  # session 3 as `inkloop train --init own --validation REGION`
    summary = {"steps": 48, "checkpoint": str(own)}
    written = append_run_round(path, ink, supervised, summary, 0, own, REGION)
    assert (written.number, written.validation_region) == (2, [])
    assert held_out_behind(read_history(path), own) == (None,)  # described again
    assert [r.number for r in read_rounds(path)] == [1, 2]  # the start is no round


def test_a_run_start_line_reads_back_and_a_bad_one_is_skipped(tmp_path: Path):
    path = tmp_path / "seg_rounds.jsonl"
    start = append_run_start(path, tmp_path / "m.pt")
    with path.open("a") as file:
        file.write(json.dumps({"run_started": "2026-01-01T00:00:00+00:00"}) + "\n")
    with pytest.warns(InkloopWarning, match="line 2 is not a round"):
        assert read_history(path) == [start]
    assert read_rounds(path) == []


def test_inkloop_info_gives_no_round_to_a_checkpoint_trained_after_it(tmp_path: Path):
    """r4 F2: a step-60 checkpoint was given round 1's steps (21), score and region. The file
    (step 7 here) keeps the round of its run while no run writing it began since, even at a
    later step (a dock letting go of a run records the last step it heard)."""
    from inkloop.checkpoint import describe_checkpoint, load_checkpoint, save_checkpoint
    from tests._helpers import save_tiny_checkpoint

    own = tmp_path / "seg_inkloop_model.pt"
    path = tmp_path / "seg_rounds.jsonl"
    heard = append_round(path, _round(own, 5))  # step 7 saved after step 5 was heard
    checkpoint = load_checkpoint(save_tiny_checkpoint(own))
    provenance = {"labels": {"hash": heard.labels_hash}, "rounds_file": str(path)}
    save_checkpoint(own, dataclasses.replace(checkpoint, provenance=provenance))
    assert describe_checkpoint(own)["round"] == heard.to_dict()

    append_run_start(path, own)  # a run from it wrote it further and never reached its round
    assert describe_checkpoint(own)["round"] is None

    at_its_step = append_round(path, _round("/laptop/seg_inkloop_model.pt", 7))
    append_run_start(path, own)
    assert describe_checkpoint(own)["round"] == at_its_step.to_dict()  # that save's round
