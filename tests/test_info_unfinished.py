"""`inkloop info` tells a checkpoint saved while its run was under way (the autosave a
killed run leaves) from one its run's end wrote."""

from __future__ import annotations

import json
import shutil

from inkloop import headless
from inkloop.cli import main
from inkloop.engine import CheckpointSaved
from inkloop.headless import train_to_file
from inkloop.io import load_labels, open_segment
from inkloop.settings import EngineSettings
from tests._helpers import tiny_model, tiny_training


def _info(path, capsys) -> dict:
    assert main(["info", str(path)]) == 0
    return json.loads(capsys.readouterr().out)


def test_info_says_an_autosave_of_a_run_under_way_is_unfinished(
    training_folder, tmp_path, monkeypatch, capsys
):
    out, mid_run = tmp_path / "model.pt", tmp_path / "killed.pt"
    heard = headless.heard_save

    def keep_first(event, saves):  # what a kill after the first autosave would leave
        if isinstance(event, CheckpointSaved) and not mid_run.exists():
            shutil.copy(out, mid_run)
        heard(event, saves)

    monkeypatch.setattr(headless, "heard_save", keep_first)
    segment = open_segment(training_folder)
    ink, supervised, _ = load_labels(segment)
    settings = EngineSettings(
        model=tiny_model(), train=tiny_training(max_steps=3), autosave_every=0
    )
    train_to_file(segment, ink, supervised, settings, out, progress=False)
    capsys.readouterr()
    assert "did not end" in _info(mid_run, capsys)["unfinished"]
    assert "unfinished" not in _info(out, capsys)
