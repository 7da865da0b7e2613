"""`inkloop train` that diverges keeps the model it continues in place and says so in one
line."""

from __future__ import annotations

import shutil

from inkloop.cli import main
from inkloop.train._average import WeightAverage
from tests._helpers import FAST


def test_a_diverged_run_keeps_the_model_it_continues_in_place(
    training_folder, model, tmp_path, monkeypatch, capsys
):
    continued = shutil.copy(model, tmp_path / "model.pt")
    kept = continued.read_bytes()
    averaged = WeightAverage.update

    def diverging(self, trained):  # what a far too high learning rate does to the weights
        averaged(self, trained)
        next(self.module.parameters()).data.fill_(float("nan"))

    monkeypatch.setattr(WeightAverage, "update", diverging)
    out = ["--init", str(continued), "--out", str(continued), "--max-steps", "1"]
    assert main(["train", str(training_folder), *out, *FAST]) == 1
    err = capsys.readouterr().err
    assert "inkloop train: error: the model was not saved: 1 weight (" in err
    assert "Traceback" not in err
    assert continued.read_bytes() == kept
