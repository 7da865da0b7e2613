"""`inkloop train SEG` and the validation region the dock keeps beside the labels (review
R1, finding 2): its labels stay out of training by default, with or without --init, said in
one line on stderr, as if given with --validation (so the round records it held out and the
dock's next run scores it clean); `--validation none` trains on them, a --validation given
wins, and a damaged region file is refused, not ignored."""

from __future__ import annotations

import shutil

import pytest

from inkloop.cli import main
from inkloop.io import open_segment, save_validation_region, validation_path
from inkloop.synthetic import write_segment
from tests._helpers import FAST, TRAIN_SHAPE

KEPT = (0, 0, 48, 64)  # y0, x0, y1, x1: labelled, with ink, in the dock's region


@pytest.fixture
def kept(tmp_path):
    """A segment of its own (the region is written beside it) with the dock's region kept."""
    z, h, w = TRAIN_SHAPE
    segment = open_segment(write_segment(tmp_path / "20240101000000", h, w, z, seed=5))
    save_validation_region(segment, KEPT)
    return segment


def _train(segment, out, *options) -> list[str]:
    return ["train", str(segment.path), "--out", str(out), "--max-steps", "1", *FAST, *options]


def _said(segment) -> str:
    return (
        "inkloop train: holding out the validation region 0:48,0:64 (rows, columns) that the "
        f"dock keeps for {segment.name} ({validation_path(segment)}): its labels are scored, "
        "not trained on by this run; --validation none trains on them"
    )


@pytest.fixture
def trained(monkeypatch) -> list:
    """The settings each `inkloop train` would train with: training itself is not the matter."""
    runs = []

    def train_to_file(segment, ink, supervised, settings, out, **kwargs):
        runs.append(settings)
        return {"interrupted": False}

    monkeypatch.setattr("inkloop.headless.train_to_file", train_to_file)
    return runs


@pytest.mark.parametrize(
    ("options", "held_out"),
    [
        (lambda model: [], KEPT),  # held out by default
        (lambda model: ["--init", str(model)], KEPT),  # a model continued: the same
        (lambda model: ["--validation", "none"], None),  # trains on the region's labels
        (lambda model: ["--validation", "10:40,20:60"], (10, 20, 40, 60)),  # given: it wins
    ],
)
def test_the_docks_region_is_held_out_and_said_unless_an_option_says_otherwise(
    kept, model, tmp_path, trained, capfd, options, held_out
):
    """What the run holds out (the engine's settings.validation) is what its round and
    checkpoint record (tests/test_provenance_record.py): training itself is not run."""
    assert main(_train(kept, tmp_path / "model.pt", *options(model))) == 0
    assert trained[-1].validation == held_out
    assert (_said(kept) in capfd.readouterr().err) == (held_out == KEPT)


def test_a_damaged_region_file_is_refused_with_the_ways_on(kept, tmp_path, trained, capfd):
    validation_path(kept).write_text("{")  # a copy cut short, say
    assert main(_train(kept, tmp_path / "model.pt")) == 1
    (line,) = capfd.readouterr().err.splitlines()
    assert line.startswith(f"inkloop train: error: {validation_path(kept)}: holds no validation")
    assert line.endswith("; give --validation Y0:Y1,X0:X1, or --validation none")
    assert not trained


def test_labels_of_another_file_are_not_held_to_the_docks_region(kept, tmp_path, trained, capfd):
    """The region is of the labels the dock paints: a benchmark's or another tool's labels
    given with --labels train whole, as before the region was kept."""
    other = tmp_path / "other_inklabels.png"
    shutil.copy(kept.files["ink_labels"], other)
    assert main(_train(kept, tmp_path / "model.pt", "--labels", str(other))) == 0
    assert trained[-1].validation is None
    assert "holding out" not in capfd.readouterr().err
    assert main(_train(kept, tmp_path / "own.pt", "--labels", str(kept.files["ink_labels"]))) == 0
    assert trained[-1].validation == KEPT  # its own labels, named: held out as without --labels
