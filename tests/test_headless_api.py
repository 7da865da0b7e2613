"""The headless runs as a notebook or script calls them: paths as str or Path, outputs that
exist refused unless overwrite, and an interrupt that stops the caller's loop, not the
interpreter."""

from __future__ import annotations

import _thread
import dataclasses
import signal
import threading
from types import SimpleNamespace

import numpy as np
import pytest

from inkloop._command import as_command
from inkloop._headless_train import record_round
from inkloop._terminal import Report
from inkloop.checkpoint import load_checkpoint
from inkloop.headless import (
    evaluate_file,
    predict_segments,
    predict_to_file,
    train_to_file,
)
from inkloop.io import load_labels, open_segment, write_png
from inkloop.rounds import read_rounds
from inkloop.settings import EngineSettings
from inkloop.synthetic import write_segment
from tests._helpers import tiny_model, tiny_training


@pytest.fixture
def labelled(training_folder):
    segment = open_segment(training_folder)
    ink, supervised, _ = load_labels(segment)
    return segment, ink, supervised


def _settings(**train) -> EngineSettings:
    return EngineSettings(model=tiny_model(), train=tiny_training(**train))


def test_train_to_file_replaces_a_file_only_when_asked_or_continuing_it(labelled, tmp_path):
    precious = tmp_path / "precious.pt"
    precious.write_bytes(b"last week's model")
    with pytest.raises(ValueError, match="exists"):
        train_to_file(*labelled, _settings(max_steps=1), precious, progress=False)
    assert precious.read_bytes() == b"last week's model"

    train_to_file(*labelled, _settings(max_steps=1), str(precious), progress=False, overwrite=True)
    assert load_checkpoint(precious).step == 1

    continued = EngineSettings(train=tiny_training(max_steps=1), init=precious)
    segment, ink, supervised = labelled
    by_path = str(segment.path)  # a segment given by its path, as the other calls take it
    train_to_file(by_path, ink, supervised, continued, str(precious), progress=False)
    assert load_checkpoint(precious).step == 2  # continued in place: no overwrite needed


def test_predict_to_file_refuses_a_file_that_exists_unless_overwrite(
    training_folder, model, tmp_path
):
    precious = tmp_path / "precious.png"
    precious.write_bytes(b"a reference map")
    with pytest.raises(ValueError, match="exists"):
        predict_to_file(training_folder, model, precious, progress=False)
    assert precious.read_bytes() == b"a reference map"

    written = predict_to_file(
        str(training_folder), str(model), str(precious), progress=False, overwrite=True
    )
    assert written["out"] == str(precious)
    assert precious.read_bytes().startswith(b"\x89PNG")


def test_predict_segments_into_one_file_refuses_a_second_segment(training_folder, model, tmp_path):
    other = write_segment(tmp_path / "20240202000000", 64, 64, 8, seed=6)
    with pytest.raises(ValueError, match="--out takes one segment, not 2; use --out-dir"):
        predict_segments([training_folder, other], model, out=tmp_path / "p.png", progress=False)
    assert not (tmp_path / "p.png").exists()  # not the first segment's, the second dropped


def test_predict_segments_refuses_a_region_under_an_output_folder(training_folder, model, tmp_path):
    out_dir = tmp_path / "predictions"
    with pytest.raises(ValueError, match="--region takes one segment and --out"):
        # a crop stored under the whole segment's name, which later batches skip as complete
        predict_segments([training_folder], model, out_dir=out_dir, region=(0, 0, 16, 16))
    assert not out_dir.exists()


def test_evaluate_file_takes_str_paths(training_folder, tmp_path):
    labels = training_folder / f"{training_folder.name}_inklabels.png"
    prediction = tmp_path / "p.png"
    write_png(prediction, np.full(open_segment(training_folder).shape[1:], 200, np.uint8))
    assert evaluate_file(str(prediction), str(labels))["at_0.5"]["recall"] == 1.0


def test_write_segment_never_mixes_two_segments_in_one_folder(tmp_path):
    folder = write_segment(tmp_path / "seg", 48, 48, 6, seed=1)
    before = {p: p.read_bytes() for p in folder.rglob("*") if p.is_file()}
    with pytest.raises(ValueError, match="folder is not empty"):
        write_segment(folder, 32, 32, 4, seed=2)
    assert {p: p.read_bytes() for p in folder.rglob("*") if p.is_file()} == before

    a_file = tmp_path / "a_file"
    a_file.write_text("notes")
    with pytest.raises(ValueError, match="is a file"):
        write_segment(a_file, 32, 32, 4)


@pytest.fixture
def press_at_first_step(monkeypatch):
    """Ctrl+C (SIGINT to the main thread, as a terminal or a notebook's interrupt sends it)
    once each training run has made its first step."""
    if threading.current_thread() is not threading.main_thread():
        pytest.skip("Ctrl+C is taken on the main thread")
    step = Report._step

    def pressed(self, event) -> None:
        step(self, event)
        if self.run_steps == 1:
            _thread.interrupt_main(signal.SIGINT)  # SIGINT's handler runs, as pthread_kill's would

    monkeypatch.setattr(Report, "_step", pressed)


@pytest.mark.usefixtures("press_at_first_step")
def test_an_interrupt_saves_the_run_and_stops_the_callers_loop(labelled, tmp_path):
    outs = [tmp_path / f"loop{i}.pt" for i in range(2)]

    def cell() -> None:
        for out in outs:
            train_to_file(*labelled, _settings(max_steps=10_000), out, progress=False)

    with pytest.raises(KeyboardInterrupt):
        cell()
    assert load_checkpoint(outs[0]).step >= 1  # saved before the interrupt went on
    assert not outs[1].exists()


@pytest.mark.usefixtures("press_at_first_step")
def test_in_the_command_an_interrupt_returns_the_saved_run(labelled, tmp_path):
    out = tmp_path / "model.pt"
    with as_command():
        summary = train_to_file(*labelled, _settings(max_steps=10_000), out, progress=False)
    assert summary["interrupted"] is True
    assert load_checkpoint(out).step == summary["steps"]


@pytest.mark.usefixtures("press_at_first_step")
def test_an_interrupted_runs_round_has_the_score_of_the_step_it_stopped_at(
    labelled, tmp_path, monkeypatch
):
    """The engine scores the validation region at the stop, between its every-50-steps
    scores: the round of an interrupted run has its own F0.5. The weights are saved before
    the score (a batch system's SIGKILL may come before a large region is scored)."""
    from inkloop.engine import _requests

    out, saved_when_scored, score = tmp_path / "m.pt", [], _requests.validate

    def scoring(*args):
        saved_when_scored.append(out.exists())
        return score(*args)

    monkeypatch.setattr(_requests, "validate", scoring)
    settings = dataclasses.replace(_settings(max_steps=10_000), validation=(0, 64, 96, 128))
    rounds = tmp_path / "rounds.jsonl"
    with as_command():
        summary = train_to_file(*labelled, settings, out, rounds=rounds, progress=False)
    assert saved_when_scored[-1]  # the stop's score came after the save
    assert summary["validation"]["step"] == summary["steps"] == load_checkpoint(out).step
    (round_,) = read_rounds(rounds)
    assert round_.validation_f05 == round(summary["validation"]["f05"], 4)


@pytest.mark.parametrize(("scored_at", "recorded"), [(300, None), (334, 0.7777)])
def test_a_round_records_a_validation_score_of_its_own_step_only(tmp_path, scored_at, recorded):
    ink, supervised = np.zeros((8, 8), np.uint8), np.ones((8, 8), bool)
    summary = {"steps": 334, "validation": {"step": scored_at, "f05": 0.7777}, "checkpoint": "m.pt"}
    report = SimpleNamespace(summary=summary)
    record_round(tmp_path / "rounds.jsonl", ink, supervised, report, 0, EngineSettings())
    assert [r.validation_f05 for r in read_rounds(tmp_path / "rounds.jsonl")] == [recorded]


def test_a_round_records_what_its_run_held_out_narrowed_by_the_model_it_went_on_from(
    tmp_path,
):
    """close1 F1: the dock reads it back when it continues from that model. A run from a
    model that trained on every label held nothing out, whatever its --validation."""
    ink, supervised = np.zeros((8, 8), np.uint8), np.ones((8, 8), bool)
    rounds, region = tmp_path / "rounds.jsonl", (0, 0, 4, 6)

    def record(out: str, validation=None, init: str | None = None) -> list[int] | None:
        report = SimpleNamespace(summary={"steps": 3, "checkpoint": str(tmp_path / out)})
        settings = EngineSettings(validation=validation, init=init and tmp_path / init)
        record_round(rounds, ink, supervised, report, 0, settings)
        return read_rounds(rounds)[-1].validation_region

    assert record("a.pt", region) == [0, 0, 4, 6]
    assert record("b.pt") == []  # every label trained
    assert record("a.pt", region, init="a.pt") == [0, 0, 4, 6]
    assert record("c.pt", (0, 0, 2, 9), init="a.pt") == [0, 0, 2, 6]  # inside both
    assert record("d.pt", region, init="b.pt") == []
