"""What a cluster batch says where workers died running a segment's block (dask's
KilledWorker): "a worker died" where the scheduler gives a block up at its first death
(allowed-failures 0), "workers died …, one after another" where it tries again; a death
that stops the batch says that finished files stay. Two segments stop a --keep-going
batch only where two separate workers died (the blocks queued on a dying worker die
with it)."""

from __future__ import annotations

import pytest

from inkloop.predict._outcome import Job

distributed = pytest.importorskip("distributed")

STOP = "; finished files stay, a rerun resumes"


def _died(server_id: str, allowed_failures: int, task="store-chunk-1"):
    """dask's KilledWorker for ``task``, last run on the worker ``server_id``."""
    from distributed.core import Status
    from distributed.scheduler import WorkerState

    worker = WorkerState(
        address=f"tcp://127.0.0.1:{len(server_id)}", status=Status.running, pid=0,
        name=server_id, memory_limit=0, local_directory="", nanny=None, server_id=server_id,
    )  # fmt: skip
    return distributed.KilledWorker(task, worker, allowed_failures)


def _killed(died, segment: str, killed: dict, keep_going: bool):
    from inkloop.predict._batch import _killed

    return _killed(died, Job(f"/data/{segment}", None), killed, keep_going, {})


def test_a_stop_by_one_worker_death_says_a_worker_died_and_that_files_stay():
    from inkloop.predict._cluster_failures import WorkersKilledError

    with pytest.raises(WorkersKilledError) as raised:
        _killed(_died("w1", allowed_failures=0), "bravo", {}, keep_going=False)
    said = str(raised.value)
    assert said.startswith("/data/bravo: a worker died running its block (dask task ")
    assert "one after another" not in said
    assert said.endswith(STOP)


def test_a_segment_failed_alone_says_workers_died_one_after_another_not_the_stop():
    error = _killed(_died("w1", allowed_failures=3), "bravo", {}, keep_going=True)
    said = str(error)
    assert said.startswith("/data/bravo: workers died running its block (dask task ")
    assert "), one after another: " in said
    assert STOP not in said


def test_two_segments_stop_only_where_two_separate_workers_died():
    from inkloop.predict._cluster_failures import WorkersKilledError

    killed: dict = {}
    _killed(_died("w1", 0), "alpha", killed, keep_going=True)
    same = _killed(_died("w1", 0), "bravo", killed, keep_going=True)  # queued on the culprit
    assert str(same).startswith("/data/bravo: a worker died running its block")
    with pytest.raises(WorkersKilledError) as raised:
        _killed(_died("w2", 0), "charlie", killed, keep_going=True)
    said = str(raised.value)
    assert said.startswith("workers died running blocks of /data/alpha and of /data/bravo")
    assert said.endswith(STOP)


@pytest.mark.parametrize(
    ("limits", "cause"),
    [
        ({"tcp://a": 3 * 2**30}, "if its log says 'exceeded 95% memory budget', its memory limit"),
        ({"tcp://a": 0}, "it has no memory limit, so the system's out-of-memory killer or a"),
    ],
)
def test_one_worker_death_names_its_log_not_theirs(limits, cause):
    from inkloop.predict._cluster_failures import WorkersKilledError

    said = str(WorkersKilledError(["/data/bravo"], _died("w1", 0), limits, stops=True))

    assert said.startswith("/data/bravo: a worker died running its block")
    assert cause in said
    assert "its log" in said
    assert "their" not in said
    assert " they " not in said


def test_deaths_one_after_another_name_their_logs():
    from inkloop.predict._cluster_failures import WorkersKilledError

    said = str(WorkersKilledError(["/data/bravo"], _died("w1", 3), {"tcp://a": 0}, stops=True))

    assert "they have no memory limit" in said
    assert "(their logs, and their machines' kernel logs, say which)" in said
