"""`inkloop predict URL --out FILE` opens the segment once: its metadata and side files are
fetched once, not again by each check."""

from __future__ import annotations

import json
from collections import Counter

import pytest

from inkloop._cli_predict import REFUSED
from inkloop.cli import main
from tests._helpers import save_tiny_checkpoint
from tests._http import serve, write_served_segment

IN_PYTHON = "(overwrite=True in Python) to replace it"


def test_a_url_predicted_into_one_file_is_fetched_once(tmp_path, synthetic, monkeypatch, capsys):
    monkeypatch.setenv("INKLOOP_DATA", str(tmp_path / "home"))
    root = tmp_path / "served"
    root.mkdir()
    write_served_segment(root, "seg", synthetic)
    model, out = save_tiny_checkpoint(tmp_path / "model.pt"), tmp_path / "pred.png"
    with serve(root) as (base, server):
        args = ["predict", f"{base}/seg.zarr", "--model", str(model), "--out", str(out)]
        assert main([*args, "--device", "cpu", "--quiet"]) == 0, capsys.readouterr().err
    assert json.loads(capsys.readouterr().out)["written"] == [str(out)]
    asked = Counter(server.requests)
    # the zarr level's metadata, and each side file (the supervision mask a 404: not kept)
    once = ["/seg.zarr/0/zarr.json", "/seg_mask.png", "/seg_supervision_mask.png"]
    assert {path: asked[path] for path in once} == dict.fromkeys(once, 1), server.requests


@pytest.mark.parametrize("how", [["--scheduler", "local:1"], ["--keep-going"]])
def test_one_file_is_still_checked_before_the_work_starts(training_folder, tmp_path, capsys, how):
    """The cluster's staging does not check the output: planning does, for --scheduler; with
    --keep-going an existing --out is the user's error, not a failed segment of many."""
    model, out = save_tiny_checkpoint(tmp_path / "model.pt"), tmp_path / "pred.png"
    out.write_bytes(b"precious")
    args = ["predict", str(training_folder), "--model", str(model), "--out", str(out)]
    assert main([*args, *how, "--device", "cpu", "--quiet"]) == REFUSED
    error = capsys.readouterr().err
    assert error == f"inkloop predict: error: {out} exists; pass --overwrite {IN_PYTHON}\n"
    assert out.read_bytes() == b"precious"
