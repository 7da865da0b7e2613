"""What `inkloop predict` tells a script: its JSON summary on stdout however the run ends
(what was written, skipped and failed so far, and why it stopped), and an exit status that
tells a run refused before any prediction began (2) from one that stopped part way or had
segments fail (1) and one interrupted (130)."""

from __future__ import annotations

import json

import pytest

import inkloop.headless
from inkloop._cli_predict import REFUSED
from inkloop.cli import main
from inkloop.io import SegmentError
from inkloop.synthetic import write_segment
from tests._helpers import save_tiny_checkpoint


@pytest.fixture
def batch(tmp_path, monkeypatch):
    """Segments a and b and a tiny model, in the working folder."""
    monkeypatch.chdir(tmp_path)
    for seed, name in enumerate("ab"):
        write_segment(tmp_path / name, 64, 64, 8, seed=seed)
    save_tiny_checkpoint(tmp_path / "model.pt")
    return tmp_path


def _predict(*segments) -> int:
    command = ["predict", *segments, "--model", "model.pt", "--out-dir", "out", "--format", "png"]
    return main([*command, "--device", "cpu", "--quiet"])


def _b_stops_with(monkeypatch, error: BaseException) -> None:
    """b's prediction raises ``error`` (once a's is written)."""

    def predict_to_file(segment, *args, **kwargs):
        if segment.name == "b":
            raise error
        return real(segment, *args, **kwargs)

    real = inkloop.headless.predict_to_file
    monkeypatch.setattr(inkloop.headless, "predict_to_file", predict_to_file)


@pytest.mark.parametrize(
    ("error", "status", "stopped"),
    [
        (KeyboardInterrupt(), 130, "interrupted"),  # Ctrl+C, or SIGTERM from a batch system
        (
            SegmentError("b/layers/02.tif: cannot be decoded"),
            1,
            "b/layers/02.tif: cannot be decoded",
        ),
    ],
    ids=["interrupted", "error"],
)
def test_a_run_stopped_part_way_lists_what_it_wrote(
    batch, capsys, monkeypatch, error, status, stopped
):
    _b_stops_with(monkeypatch, error)
    assert _predict("a", "b") == status
    summary = json.loads(capsys.readouterr().out)
    written = str(batch / "out" / "a_prediction.png")
    assert summary["written"] == [written]
    assert summary["provenance"][written]["segment"]["name"] == "a"
    assert (summary["skipped"], summary["failed"], summary["stopped"]) == ([], [], stopped)


def test_a_run_refused_before_any_prediction_exits_2_with_an_empty_summary(batch, capsys):
    assert _predict("a", "nothing") == REFUSED
    captured = capsys.readouterr()
    assert captured.err == f"inkloop predict: error: {batch / 'nothing'}: no such file or folder\n"
    summary = json.loads(captured.out)
    assert (summary["written"], summary["skipped"], summary["failed"]) == ([], [], [])
    assert summary["stopped"] == f"{batch / 'nothing'}: no such file or folder"
    assert not (batch / "out").exists()


def test_a_run_done_says_it_was_not_stopped(batch, capsys):
    assert _predict("a") == 0
    assert json.loads(capsys.readouterr().out)["stopped"] is None
