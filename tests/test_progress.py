"""Progress bars in a log file (a cluster job's stderr): a redraw per half minute, and the end."""

from __future__ import annotations

import contextlib
import time

import dask

from inkloop._progress import LOG_PROGRESS_INTERVAL, PacedProgressBar, progress_interval


def test_dask_work_in_a_log_draws_its_bar_once_and_at_the_end(capsys):
    assert progress_interval() == LOG_PROGRESS_INTERVAL  # capsys's stderr: not a terminal
    work = dask.delayed(time.sleep)(0.6)  # six of dask's 0.1 s ticks: six redraws unpaced
    with PacedProgressBar():
        work.compute(scheduler="threads")
    draws = capsys.readouterr().err.split("\r")[1:]
    assert len(draws) == 2
    assert "| 0% Completed" in draws[0]
    assert "| 100% Completed" in draws[1]


def test_work_that_fails_still_draws_where_it_stopped(capsys):
    def fail():
        time.sleep(0.3)
        raise RuntimeError("a bad block")

    bar = PacedProgressBar()
    for _ in range(2):  # a bar used twice paces each run from its start
        with bar, contextlib.suppress(RuntimeError):
            dask.delayed(fail)().compute(scheduler="threads")
        draws = capsys.readouterr().err.split("\r")[1:]
        assert len(draws) == 2
        assert "| 0% Completed" in draws[-1]  # where it stopped, not a 100% it never reached


def test_a_log_is_redrawn_at_the_pace_the_user_asks_for(monkeypatch):
    monkeypatch.setenv("INKLOOP_PROGRESS_S", "2.5")
    assert progress_interval() == 2.5  # capsys's stderr: not a terminal
    for unusable in ("soon", "0", "-1", "nan", "inf"):
        monkeypatch.setenv("INKLOOP_PROGRESS_S", unusable)
        assert progress_interval() == LOG_PROGRESS_INTERVAL, unusable
