"""A run's samples/s is the run's: the samples it trained over the seconds its round records
as trained, in the summary and in the progress bar's last line; while it runs, the bar
shows each step's."""

from __future__ import annotations

import re
from types import SimpleNamespace

import pytest

from inkloop._terminal import Report
from inkloop.engine import StepDone
from inkloop.headless import train_to_file
from inkloop.io import load_labels, open_segment
from inkloop.rounds import read_rounds
from inkloop.settings import EngineSettings
from tests._helpers import tiny_model, tiny_training

STEP_SECONDS = (0.125, 0.125, 1.0)  # a slow last step: 4 samples/s, against 9.6 for the run


class _StepClock:
    """perf_counter for `inkloop.train._loop`, read twice a step (its start, its end): each
    step takes the next of ``seconds``."""

    def __init__(self, seconds) -> None:
        self.seconds, self.reads, self.now = list(seconds), 0, 0.0

    def perf_counter(self) -> float:
        if self.reads % 2:
            self.now += self.seconds[self.reads // 2]
        self.reads += 1
        return self.now


def test_the_summarys_samples_per_s_is_the_run_over_its_rounds_trained_seconds(
    training_folder, tmp_path, monkeypatch
):
    clock = _StepClock(STEP_SECONDS)
    steps_timed = SimpleNamespace(perf_counter=clock.perf_counter)
    monkeypatch.setattr("inkloop.train._loop.time", steps_timed)
    segment = open_segment(training_folder)
    ink, supervised, _ = load_labels(segment)
    settings = EngineSettings(model=tiny_model(), train=tiny_training(max_steps=3))
    rounds = tmp_path / "rounds.jsonl"
    summary = train_to_file(
        segment, ink, supervised, settings, tmp_path / "m.pt", rounds=rounds, progress=False
    )
    (round_,) = read_rounds(rounds)
    assert round_.trained_seconds == sum(STEP_SECONDS)
    samples = summary["steps"] * summary["batch_size"]
    assert summary["samples_per_s"] == pytest.approx(samples / round_.trained_seconds)  # 9.6


def _step(step: int, samples_per_s: float) -> StepDone:
    return StepDone(step, 0.5, 1e-3, samples_per_s, 4, 0, None)


def _postfix(text: str) -> dict:
    """The "name=value" pairs of a bar's postfix ("loss=0.500, lr=1.0e-03, ...")."""
    return dict(re.findall(r"(\w+)=([^,\]]+)", text))


def test_the_bar_shows_each_steps_rate_and_ends_on_the_runs(tmp_path, capsys):
    report = Report(progress=True, max_steps=None, max_seconds=30.0)  # as `inkloop demo` runs
    for number, seconds in enumerate(STEP_SECONDS, 1):
        report(_step(number, 4 / seconds))
        assert _postfix(report.bar.postfix)["patches_s"] == f"{4 / seconds:.1f}"
    report.close(tmp_path / "m.pt")
    last_drawn = capsys.readouterr().err.split("\r")[-1].splitlines()[0]
    shown = _postfix(last_drawn)
    assert (shown["step"], shown["patches_s"]) == ("3", "9.6")
    assert report.summary["samples_per_s"] == 9.6
