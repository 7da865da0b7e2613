"""`inkloop train --init` from weights that trained on the validation region's labels (review
RD of session 41, finding 3): said before training, and the JSON's validation says
``held_out``, as the round records what was held out."""

from __future__ import annotations

import json

import pytest

from inkloop.cli import main
from inkloop.io import open_segment, rounds_path, save_validation_region
from inkloop.rounds import read_rounds
from inkloop.synthetic import write_segment
from tests._helpers import FAST, TRAIN_SHAPE

KEPT = (0, 0, 48, 64)  # y0, x0, y1, x1: labelled, with ink


@pytest.fixture
def segment(tmp_path):
    z, h, w = TRAIN_SHAPE
    return open_segment(write_segment(tmp_path / "20240101000000", h, w, z, seed=5))


def _train(segment, out, capsys, *options) -> tuple[dict, str]:
    argv = ["train", str(segment.path), "--out", str(out), "--max-steps", "1", *FAST, *options]
    assert main(argv) == 0
    said = capsys.readouterr()
    return json.loads(said.out), said.err


def test_init_trained_before_the_region_was_drawn_is_said_and_not_held_out(
    segment, tmp_path, capsys
):
    _train(segment, tmp_path / "day1.pt", capsys)  # every label: no region yet
    save_validation_region(segment, KEPT)
    summary, err = _train(
        segment, tmp_path / "day2.pt", capsys, "--init", str(tmp_path / "day1.pt")
    )
    assert (
        "the model --init day1.pt has trained on labels in the validation region "
        "0:48,0:64 (its training held out none of it): this run's F0.5 will read high"
    ) in err
    assert summary["validation"]["held_out"] is False
    assert read_rounds(rounds_path(segment))[-1].validation_region == []


def test_a_fresh_run_holds_the_region_out_and_its_continuation_only_what_stays(
    segment, tmp_path, capsys
):
    save_validation_region(segment, KEPT)
    summary, err = _train(segment, tmp_path / "day1.pt", capsys)  # a fresh model: all held out
    assert "will read high" not in err
    assert summary["validation"]["held_out"] is True
    assert read_rounds(rounds_path(segment))[-1].validation_region == list(KEPT)
    moved = "24:72,32:96"  # rows, columns: overlaps 24:48,32:64 of the first
    summary, err = _train(
        segment, tmp_path / "day2.pt", capsys, "--init", str(tmp_path / "day1.pt"),
        "--validation", moved,
    )  # fmt: skip
    assert "(its training held out only 24:48,32:64)" in err
    assert summary["validation"]["held_out"] == [24, 32, 48, 64]
    last = read_rounds(rounds_path(segment))[-1]
    assert (last.validation_region, last.scored_region) == ([24, 32, 48, 64], [24, 32, 72, 96])
