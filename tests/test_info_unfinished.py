"""`inkloop info` tells a checkpoint saved while its run was under way (the autosave a
killed run leaves) from one its run's end wrote."""

from __future__ import annotations

import json
import shutil

import pytest

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
    assert "under way" in _info(mid_run, capsys)["unfinished"]
    assert "unfinished" not in _info(out, capsys)


def test_info_of_a_diverged_runs_autosave_names_the_way_on_from_it(
    training_folder, model, tmp_path, monkeypatch, capsys
):
    """Not "killed?": that run ended, by diverging, and goes on only with a lower rate
    (closing review C9 of session 40, finding 4)."""
    from inkloop.train._average import WeightAverage

    averaged, updates = WeightAverage.update, []

    def diverging(self, trained):  # at the 3rd step, after two autosaves
        averaged(self, trained)
        updates.append(1)
        if len(updates) >= 3:
            next(self.module.parameters()).data.fill_(float("nan"))

    monkeypatch.setattr(WeightAverage, "update", diverging)
    out = shutil.copy(model, tmp_path / "model.pt")
    segment = open_segment(training_folder)
    ink, supervised, _ = load_labels(segment)
    train = tiny_training(max_steps=6)
    settings = EngineSettings(model=tiny_model(), init=out, train=train, autosave_every=0)
    with pytest.raises(RuntimeError, match="diverged"):
        train_to_file(segment, ink, supervised, settings, out, progress=False)
    capsys.readouterr()
    said = _info(out, capsys)["unfinished"]
    assert "diverged" in said
    assert "lower --lr" in said
