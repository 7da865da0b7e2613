"""`inkloop train --labels` on a read-only share: the round goes where the dock reads this
segment's rounds (inkloop's own folder for it), or, for labels that are not the segment's,
beside the checkpoint, said before training; never "not recorded" after the run.

The share is chmod'ed a-w, which inkloop takes for read-only whoever runs it (root too)."""

from __future__ import annotations

import stat

import numpy as np
import pytest

from inkloop._notify import InkloopWarning
from inkloop.cli import main
from inkloop.io import _writable, open_segment, rounds_path, write_png
from inkloop.synthetic import write_segment
from tests._helpers import FAST, folder_contents

NAME = "20231005123335"
INK = np.zeros((32, 40), np.uint8)
INK[10:20, 5:30] = 255


@pytest.fixture
def share(tmp_path, monkeypatch):
    """A segment with ink labels in a read-only folder, and a read-only folder of other
    labels beside it; inkloop's own folders under ``tmp_path / "home"``."""
    folder = write_segment(tmp_path / "share" / NAME, 32, 40, 4, seed=1, truth_as_labels=False)
    write_png(folder / f"{NAME}_inklabels.png", INK)
    others = tmp_path / "share" / "labels"
    others.mkdir()
    write_png(others / "strokes.png", INK)
    monkeypatch.setenv("INKLOOP_DATA", str(tmp_path / "home"))
    monkeypatch.setenv(_writable.TOLD_ENV, "")
    for path in (folder, others):
        path.chmod(stat.S_IRUSR | stat.S_IXUSR | stat.S_IRGRP | stat.S_IXGRP)
    yield folder
    for path in (folder, others):
        path.chmod(0o755)  # lets pytest remove them


@pytest.fixture
def trained(monkeypatch, capfd) -> list:
    """The rounds file each `inkloop train` would record in, and what it had said on stderr
    when training would start: training itself is not the matter."""
    runs = []

    def train_to_file(*args, rounds=None, **kwargs):
        runs.append((rounds, capfd.readouterr().err))
        return {"interrupted": False}

    monkeypatch.setattr("inkloop.headless.train_to_file", train_to_file)
    return runs


def test_the_segments_own_labels_by_any_name_record_the_round_in_its_rounds_file(
    share, tmp_path, trained
):
    before = folder_contents(share)
    with pytest.warns(InkloopWarning, match="is read-only"):
        segment = open_segment(share)
    dock = rounds_path(segment)  # the rounds the dock shows for this segment
    assert dock.parent.parent == tmp_path / "home" / "read-only"
    link = tmp_path / "mine.png"
    link.symlink_to(share / f"{NAME}_inklabels.png")
    # as named on the share (the reviewer's run), through a link, the own folder's link
    for labels in (share / f"{NAME}_inklabels.png", link, segment.files["ink_labels"]):
        args = ["train", str(share), "--labels", str(labels), "--out", str(tmp_path / "m.pt")]
        assert main([*args, *FAST]) == 0
        rounds, said = trained.pop()
        assert rounds == dock, labels
        assert "cannot be written" not in said
    assert folder_contents(share) == before


def test_an_older_version_on_the_share_records_in_the_segments_rounds_file(
    share, tmp_path, trained
):
    share.chmod(0o755)
    write_png(share / f"{NAME}_inklabels_v2.png", INK)  # the version the segment opens
    share.chmod(0o555)
    older = share / f"{NAME}_inklabels.png"
    args = ["train", str(share), "--labels", str(older), "--out", str(tmp_path / "m.pt")]

    assert main([*args, *FAST]) == 0

    segment = open_segment(share)
    assert segment.files["ink_labels"].name == f"{NAME}_inklabels_v2.png"
    assert trained.pop()[0] == rounds_path(segment) != share / f"{NAME}_rounds.jsonl"


def test_other_labels_in_a_read_only_folder_record_beside_the_checkpoint_said_before_training(
    share, tmp_path, trained
):
    labels = share.parent / "labels" / "strokes.png"
    args = ["train", str(share), "--labels", str(labels), "--out", str(tmp_path / "model.pt")]

    assert main([*args, *FAST]) == 0

    rounds, said = trained.pop()
    assert rounds == tmp_path / "model_rounds.jsonl"
    assert (
        f"inkloop train: {labels.parent} cannot be written: the round of this run is "
        f"recorded beside --out, in {rounds}"
    ) in said.splitlines()
