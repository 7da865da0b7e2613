"""Ctrl+C (or a batch system's SIGTERM) in a run that scores a validation region: its early
save sets aside the model it replaces, as every first write to ``out`` does (closing review
C1 of session 41, finding 3)."""

from __future__ import annotations

import contextlib
import shutil
import threading

import pytest

from inkloop import headless
from inkloop.checkpoint import load_checkpoint
from inkloop.engine import StepDone
from inkloop.headless import train_to_file
from inkloop.io import load_labels, open_segment
from inkloop.settings import EngineSettings
from tests._helpers import tiny_model, tiny_training

REGION = (0, 64, 96, 128)


@pytest.fixture
def labelled(training_folder):
    segment = open_segment(training_folder)
    ink, supervised, _ = load_labels(segment)
    return segment, ink, supervised


def _pressed_when(monkeypatch, pressed: threading.Event) -> None:
    """Ctrl+C as `train_to_file` sees it: ``pressed``, set by the test's own hook."""

    @contextlib.contextmanager
    def ctrl_c():
        yield pressed

    monkeypatch.setattr(headless, "ctrl_c", ctrl_c)
    monkeypatch.setattr(headless, "in_command", lambda: True)  # said, not raised


def _settings(**fields) -> EngineSettings:
    # no periodic autosave: the stop's early save is the run's first write to ``out``
    return EngineSettings(
        model=tiny_model(), train=tiny_training(max_steps=50), autosave_every=3600, **fields
    )


def test_ctrl_c_at_the_first_step_keeps_the_model_overwritten(
    labelled, model, tmp_path, monkeypatch
):
    pressed = threading.Event()
    heard = headless.heard_save

    def press_at_the_first_step(event, saves):
        if isinstance(event, StepDone):
            pressed.set()
        heard(event, saves)

    monkeypatch.setattr(headless, "heard_save", press_at_the_first_step)
    _pressed_when(monkeypatch, pressed)
    out = shutil.copy(model, tmp_path / "model.pt")  # the user's earlier model
    earlier = out.read_bytes()
    settings = _settings(validation=REGION)
    summary = train_to_file(*labelled, settings, out, progress=False, overwrite=True)

    assert summary["interrupted"]
    (kept,) = tmp_path.glob("model.saved-*.pt")
    assert kept.read_bytes() == earlier
    assert load_checkpoint(out).step == summary["steps"] >= 1


def test_ctrl_c_before_the_first_step_scores_nothing_and_says_out_stays(
    labelled, model, tmp_path, monkeypatch, capsys
):
    """No untrained model is scored (a minute at 4096² on a CPU, in which SLURM's SIGKILL
    lands), and the words promise no save (closing review C1 of session 41, finding 4)."""
    from inkloop.train import Trainer
    from inkloop.train._sampler import WaitInterruptedError

    pressed = threading.Event()

    def awaiting(self):  # the first batch is slow: Ctrl+C comes while it is awaited
        pressed.set()
        raise WaitInterruptedError()

    monkeypatch.setattr(Trainer, "step", awaiting)
    _pressed_when(monkeypatch, pressed)
    out = shutil.copy(model, tmp_path / "model.pt")
    held = out.read_bytes()
    settings = _settings(validation=REGION, init=out)
    summary = train_to_file(*labelled, settings, out, progress=False)

    said = capsys.readouterr().err
    assert "f05" not in summary.get("validation", {})
    assert "validation F0.5" not in said
    assert f"stopping: no step has ended yet, so {out} is written only if" in said
    assert "autosave" not in said
    assert out.read_bytes() == held
