"""A round records the region its validation F0.5 was scored on (review RD of session 41,
finding 4): `validation_region` keeps what was held out, which after a move is not the
region scored. Old rounds, without the field, still load."""

from __future__ import annotations

import json

import numpy as np
import pytest

from inkloop._notify import InkloopWarning
from inkloop.rounds import append_run_round, new_round, read_rounds

INK = np.zeros((8, 8), np.float32)
LABELLED = np.ones((8, 8), bool)


def _summary(scored_at: int) -> dict:
    return {"steps": 12, "checkpoint": "c.pt", "validation": {"step": scored_at, "f05": 0.14}}


def test_a_headless_round_records_the_region_scored_beside_what_was_held_out(tmp_path):
    path = tmp_path / "seg_rounds.jsonl"
    append_run_round(path, INK, LABELLED, _summary(6), 0, None, (0, 0, 4, 4))  # an early score
    append_run_round(path, INK, LABELLED, _summary(12), 0, None, (2, 2, 6, 6))
    first, second = read_rounds(path)
    assert (first.validation_f05, first.scored_region) == (None, None)
    assert (second.validation_f05, second.scored_region) == (0.14, [2, 2, 6, 6])
    assert second.validation_region == [2, 2, 6, 6]


def test_a_round_from_before_the_field_still_loads(tmp_path):
    path = tmp_path / "seg_rounds.jsonl"
    old = new_round(1, INK, LABELLED, accepted_pixels=0, steps=5, validation_f05=0.2,
                    checkpoint="c.pt").to_dict()  # fmt: skip
    del old["scored_region"]
    path.write_text(json.dumps(old) + "\n")
    (round_,) = read_rounds(path)
    assert (round_.validation_f05, round_.scored_region) == (0.2, None)


@pytest.mark.parametrize("bad", [[], [1, 2, 3], "0:4,0:4"])
def test_a_malformed_scored_region_is_skipped_and_said(tmp_path, bad):
    path = tmp_path / "seg_rounds.jsonl"
    line = new_round(1, INK, LABELLED, accepted_pixels=0, steps=5, validation_f05=0.2,
                     checkpoint="c.pt").to_dict()  # fmt: skip
    line["scored_region"] = bad
    path.write_text(json.dumps(line) + "\n")
    with pytest.warns(InkloopWarning, match="scored_region must be null or 4 integers"):
        assert read_rounds(path) == []
