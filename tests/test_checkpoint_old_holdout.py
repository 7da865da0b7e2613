"""A checkpoint written before 2026-11-27 (commit 4548135) keeps the validation region it held
out under ``labels.holdout``, as `inkloop train --validation` then named it: it is read as the
region held out, so that `inkloop train --init` from it neither warns that it is unrecorded nor
writes "nothing held out" into the rounds file (review RH of session 42, finding 2)."""

from __future__ import annotations

import json

import pytest

from inkloop._rounds_held_out import UNRECORDED, held_out_by_checkpoint
from inkloop.cli import main
from inkloop.io import open_segment, rounds_path
from inkloop.rounds import read_rounds
from inkloop.synthetic import write_segment
from tests._helpers import FAST, TRAIN_SHAPE

KEPT = (0, 0, 48, 64)  # y0, x0, y1, x1: labelled, with ink
AS_OPTION = "0:48,0:64"


@pytest.mark.parametrize(
    ("labels", "held_out"),
    [
        ({"holdout": [0, 0, 96, 96]}, ((0, 0, 96, 96),)),
        ({"holdout": None}, (None,)),  # trained on every label
        ({"validation": [0, 0, 8, 8], "holdout": [0, 0, 96, 96]}, ((0, 0, 8, 8),)),
        ({}, (UNRECORDED,)),
    ],
)
def test_the_old_key_is_the_region_held_out(labels, held_out):
    provenance = {"segment": "seg", "labels": labels}
    assert held_out_by_checkpoint(provenance, "seg") == held_out


def _as_before_the_rename(checkpoint) -> None:
    """``checkpoint`` rewritten in the shape inkloop wrote until 2026-11-27: the region under
    ``labels.holdout``, no run id nor rounds file."""
    import torch

    payload = torch.load(checkpoint, map_location="cpu", weights_only=True)
    provenance = payload["provenance"]
    provenance["labels"]["holdout"] = provenance["labels"].pop("validation")
    for key in ("run", "rounds_file"):
        provenance.pop(key, None)
    torch.save(payload, checkpoint)


def test_train_init_from_an_old_checkpoint_holds_its_region_out(tmp_path, capsys):
    z, h, w = TRAIN_SHAPE
    segment = open_segment(write_segment(tmp_path / "20240101000000", h, w, z, seed=5))
    day1, day2 = tmp_path / "day1.pt", tmp_path / "day2.pt"
    common = [str(segment.path), "--max-steps", "1", "--validation", AS_OPTION, *FAST]
    assert main(["train", *common, "--out", str(day1)]) == 0
    _as_before_the_rename(day1)
    rounds_path(segment).unlink()  # that inkloop wrote none
    capsys.readouterr()

    assert main(["train", *common, "--out", str(day2), "--init", str(day1)]) == 0
    said = capsys.readouterr()
    assert "does not record what its training held out" not in said.err
    assert json.loads(said.out)["validation"]["held_out"] is True  # all of it
    assert read_rounds(rounds_path(segment))[-1].validation_region == list(KEPT)
