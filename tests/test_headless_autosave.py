"""A headless training run writes its checkpoint while it trains, not only at its end: a run
killed at hour 9 (the OOM killer, SLURM's SIGKILL) leaves its weights at ``out``."""

from __future__ import annotations

import contextlib
import dataclasses
import os
import shutil
import threading
import time

import pytest

from inkloop import headless
from inkloop.checkpoint import load_checkpoint
from inkloop.engine import CheckpointSaved
from inkloop.headless import train_to_file
from inkloop.io import load_labels, open_segment
from inkloop.settings import EngineSettings
from tests._helpers import tiny_model, tiny_training


@pytest.fixture
def labelled(training_folder):
    segment = open_segment(training_folder)
    ink, supervised, _ = load_labels(segment)
    return segment, ink, supervised


def _settings(**train) -> EngineSettings:
    # every step is "past" the autosave interval: the run autosaves after each one
    return EngineSettings(model=tiny_model(), train=tiny_training(**train), autosave_every=0)


def test_a_run_leaves_a_loadable_checkpoint_at_out_while_it_trains(labelled, tmp_path, monkeypatch):
    out = tmp_path / "model.pt"
    on_disk_mid_run = []  # (step saved, step of the file at out) as each save is told
    heard = headless.heard_save

    def look_at_out(event, saves):
        if isinstance(event, CheckpointSaved) and event.step < 3:  # the run goes on
            on_disk_mid_run.append((event.step, load_checkpoint(out).step))
        heard(event, saves)

    monkeypatch.setattr(headless, "heard_save", look_at_out)
    summary = train_to_file(*labelled, _settings(max_steps=3), out, progress=False)
    assert on_disk_mid_run == [(1, 1), (2, 2)]
    assert summary["checkpoint"] == str(out)
    assert load_checkpoint(out).step == 3  # the end's


def test_a_run_that_made_no_step_leaves_no_autosave(labelled, tmp_path, monkeypatch):
    from inkloop.train import Trainer

    def fail(self):
        raise RuntimeError("the disk went away")

    monkeypatch.setattr(Trainer, "step", fail)
    out = tmp_path / "model.pt"
    with pytest.raises(RuntimeError, match="the disk went away"):
        train_to_file(*labelled, _settings(max_steps=3), out, progress=False)
    assert list(tmp_path.iterdir()) == []  # an untrained model is no checkpoint


def test_parts_of_killed_writes_beside_out_are_swept_when_old(labelled, tmp_path):
    out = tmp_path / "model.pt"
    old, fresh = tmp_path / ".model.pt.abcd1234.tmp", tmp_path / ".model.pt.efgh5678.tmp"
    for part in (old, fresh):
        part.write_bytes(b"half a checkpoint")
    two_hours_ago = time.time() - 7200
    os.utime(old, (two_hours_ago, two_hours_ago))
    train_to_file(*labelled, _settings(max_steps=1), out, progress=False)
    assert not old.exists()
    assert fresh.exists()  # perhaps another process's write under way


class _QuitAtOnce:
    """`ctrl_c`'s Event where a third Ctrl+C lands in the wait loop: the first look at it
    once ``ready`` is set (if given) raises KeyboardInterrupt."""

    def __init__(self, ready=None) -> None:
        self.ready = ready

    def is_set(self) -> bool:
        if self.ready is None or self.ready.is_set():  # looked at every 0.5 s
            raise KeyboardInterrupt
        return False


def _quit_before_the_first_step(monkeypatch) -> None:
    """The first batch never comes (a slow server); the quit (`_quitting`) comes as it is
    awaited."""
    from inkloop.train import Trainer
    from inkloop.train._sampler import WaitInterruptedError

    awaited = threading.Event()

    def awaiting(self):
        awaited.set()
        raise WaitInterruptedError()

    monkeypatch.setattr(Trainer, "step", awaiting)
    _quitting(monkeypatch, awaited)


def _quitting(monkeypatch, ready=None) -> None:
    @contextlib.contextmanager
    def ctrl_c():
        yield _QuitAtOnce(ready)

    monkeypatch.setattr(headless, "ctrl_c", ctrl_c)


def test_a_quit_before_the_first_step_leaves_the_replaced_model_at_out(
    labelled, model, tmp_path, monkeypatch
):
    _quit_before_the_first_step(monkeypatch)
    out = shutil.copy(model, tmp_path / "model.pt")
    kept = out.read_bytes()
    with pytest.raises(KeyboardInterrupt):
        train_to_file(*labelled, _settings(max_steps=3), out, progress=False, overwrite=True)
    assert sorted(tmp_path.iterdir()) == [out]
    assert out.read_bytes() == kept


def test_a_quit_before_the_first_step_leaves_the_model_continued_in_place_as_it_was(
    labelled, model, tmp_path, monkeypatch
):
    """``--init X --out X``: X keeps its round, run and lineage (closing review C9 of
    session 40, finding 2)."""
    _quit_before_the_first_step(monkeypatch)
    out = shutil.copy(model, tmp_path / "model.pt")
    kept = out.read_bytes()
    settings = dataclasses.replace(_settings(max_steps=3), init=out)
    with pytest.raises(KeyboardInterrupt):
        train_to_file(*labelled, settings, out, progress=False)
    assert sorted(tmp_path.iterdir()) == [out]
    assert out.read_bytes() == kept


def test_a_quit_after_steps_says_out_holds_the_runs_autosave(
    labelled, tmp_path, monkeypatch, capsys
):
    saved = threading.Event()
    heard = headless.heard_save

    def on_save(event, saves):
        heard(event, saves)
        saved.set()

    monkeypatch.setattr(headless, "heard_save", on_save)
    _quitting(monkeypatch, saved)
    out = tmp_path / "model.pt"
    with pytest.raises(KeyboardInterrupt):
        train_to_file(*labelled, _settings(max_steps=1000), out, progress=False)
    step = load_checkpoint(out).step
    assert step >= 1
    assert f"{out} holds this run's last autosave (step {step})" in capsys.readouterr().err


def test_a_run_diverged_after_an_autosave_says_out_holds_it(
    labelled, model, tmp_path, monkeypatch, capsys
):
    _diverging_at_step(3, monkeypatch)
    out = shutil.copy(model, tmp_path / "model.pt")
    started = load_checkpoint(out).step
    settings = dataclasses.replace(_settings(max_steps=6), init=out)  # continued in place
    with pytest.raises(RuntimeError) as raised:
        train_to_file(*labelled, settings, out, progress=False)
    last_good = started + 2
    assert load_checkpoint(out).step == last_good
    told = f"{out} holds this run's last autosave (step {last_good})"
    assert told in str(raised.value)
    assert "not written" not in capsys.readouterr().err


def test_a_run_diverged_before_any_autosave_leaves_out_the_model_it_held(
    labelled, model, tmp_path, monkeypatch, capsys
):
    """--overwrite: the first autosave found the weights not finite; the model at ``out``
    stays there (closing review C9 of session 40), never set aside (C9 of session 41)."""
    _diverging_at_step(3, monkeypatch)  # the run's last step: before its first autosave
    out = shutil.copy(model, tmp_path / "model.pt")
    held = out.read_bytes()
    settings = dataclasses.replace(_settings(max_steps=3), autosave_every=3600)
    with pytest.raises(RuntimeError):
        train_to_file(*labelled, settings, out, overwrite=True, progress=False)

    assert sorted(path.name for path in tmp_path.glob("*.pt")) == ["model.pt"]
    assert out.read_bytes() == held
    assert "held before" not in capsys.readouterr().err  # it never moved


def _diverging_at_step(step: int, monkeypatch) -> None:
    """Training's weights turn not finite at ``step``, as a far too high learning rate does."""
    from inkloop.train._average import WeightAverage

    averaged, updates = WeightAverage.update, []

    def diverging(self, trained):
        averaged(self, trained)
        updates.append(1)
        if len(updates) >= step:
            next(self.module.parameters()).data.fill_(float("nan"))

    monkeypatch.setattr(WeightAverage, "update", diverging)
