"""A failure every segment of a cluster batch would meet stops it, --keep-going or not, in
one line saying the likely cause: the outputs' folder full (named), or workers killed by
blocks of two segments (named; if their logs say so, their memory limit, which it gives).
Workers killed by one segment's block are that segment's failure: --keep-going goes on."""

from __future__ import annotations

import errno
import os
from pathlib import Path

import pytest

from inkloop._errors import users_error
from inkloop.predict import _outputs
from inkloop.synthetic import write_segment
from tests._helpers import save_tiny_checkpoint

distributed = pytest.importorskip("distributed")


class _DieStoring(distributed.WorkerPlugin):
    """Kills its worker's process as it begins to store a chunk (as its memory limit would)."""

    def transition(self, key, start, finish, **kwargs):
        if finish == "executing" and "_store_chunk" in str(key):
            os._exit(1)


def _disk_full(block, target, block_info=None):
    raise OSError(errno.ENOSPC, "No space left on device")


@pytest.fixture
def batch(tmp_path):
    """Segments a and b, their jobs into out/ and a tiny model."""
    from inkloop.predict.batch import plan_jobs

    for seed, name in enumerate("ab"):
        write_segment(tmp_path / name, 64, 64, 8, seed=seed)
    jobs, _ = plan_jobs([tmp_path / "a", tmp_path / "b"], tmp_path / "out", "zarr")
    return jobs, save_tiny_checkpoint(tmp_path / "model.pt")


def test_a_full_disk_stops_the_batch_naming_the_folder(batch, monkeypatch):
    from distributed import Client, LocalCluster

    from inkloop.predict.batch import Outcome, predict_jobs

    jobs, model = batch
    monkeypatch.setattr(_outputs, "_store_chunk", _disk_full)
    outcome, options = Outcome(), {"device": "cpu", "progress": False, "keep_going": True}
    cluster = {"n_workers": 1, "threads_per_worker": 1, "dashboard_address": None}
    out = jobs[0].out.parent
    with (
        LocalCluster(processes=False, **cluster) as cluster,
        Client(cluster) as client,
        pytest.raises(OSError, match="No space left") as raised,
    ):
        predict_jobs(model, jobs, client, outcome=outcome, **options)
    assert str(raised.value) == (
        f"{out}: No space left on device (the workers write the outputs there): free room "
        "there; finished files stay, a rerun resumes"
    )
    assert raised.value.errno == errno.ENOSPC
    assert users_error(raised.value)
    assert outcome.failed == []  # no segment blamed, none tried after
    assert list(out.iterdir()) == []


def _die_storing_bravo(block, target, block_info=None):
    """Kills its worker's process as it stores a chunk of segment bravo alone (as a crash in
    that segment's data would)."""
    if block.size and "bravo" in Path(str(target.store.root)).name:  # not dask's meta call
        os._exit(1)
    return _STORE_CHUNK(block, target, block_info)


_STORE_CHUNK = _outputs._store_chunk


def _killing_cluster(memory_limit="3GiB"):
    """A process cluster of one worker that gives a block up at its first death (dask's
    default waits for 4), and is sent no more tasks than it runs at once (those queued there
    would die with it)."""
    import dask
    from distributed import LocalCluster

    options = {"n_workers": 1, "threads_per_worker": 1, "memory_limit": memory_limit}
    scheduler = {"allowed-failures": 0, "worker-saturation": 1.0}
    with dask.config.set({f"distributed.scheduler.{key}": v for key, v in scheduler.items()}):
        return LocalCluster(dashboard_address=None, **options)


@pytest.mark.slow
def test_workers_killed_by_two_segments_stop_the_batch_naming_both(batch):
    from distributed import Client

    from inkloop.io import shown_location
    from inkloop.predict.batch import Outcome, predict_jobs

    jobs, model = batch
    outcome, options = Outcome(), {"device": "cpu", "progress": False, "keep_going": True}
    with _killing_cluster() as cluster, Client(cluster) as client:
        client.register_plugin(_DieStoring(), name="die-storing")
        with pytest.raises(RuntimeError, match="workers died running blocks of") as raised:
            predict_jobs(model, jobs, client, outcome=outcome, **options)
    (first,) = [failed["segment"] for failed in outcome.failed]  # the first: its own failure
    (second,) = {shown_location(job.segment) for job in jobs} - {first}
    said = str(raised.value)
    assert f"blocks of {first} and of {second} (dask task " in said
    assert "if their logs say 'exceeded 95% memory budget', their memory limit (each " in said
    assert "worker may use 3.00 GiB)" in said


@pytest.mark.slow
def test_keep_going_fails_alone_a_segment_whose_block_kills_its_workers(tmp_path, monkeypatch):
    from distributed import Client

    from inkloop.io import shown_location
    from inkloop.predict.batch import Outcome, plan_jobs, predict_jobs

    names = ["alpha", "bravo", "charlie"]
    for seed, name in enumerate(names):
        write_segment(tmp_path / name, 64, 64, 8, seed=seed)
    jobs, _ = plan_jobs([tmp_path / name for name in names], tmp_path / "out", "zarr")
    model = save_tiny_checkpoint(tmp_path / "model.pt")
    monkeypatch.setattr(_outputs, "_store_chunk", _die_storing_bravo)
    outcome, options = Outcome(), {"device": "cpu", "progress": False, "keep_going": True}
    with _killing_cluster(memory_limit=0) as cluster, Client(cluster) as client:
        predict_jobs(model, jobs, client, outcome=outcome, **options)
    assert outcome.written == [jobs[0].out, jobs[2].out]
    (failed,) = outcome.failed
    bravo = shown_location(jobs[1].segment)
    assert failed["segment"] == bravo
    assert failed["error"].startswith(f"{bravo}: a worker died running its block (dask task ")
    assert (
        "it has no memory limit, so the system's out-of-memory killer or a crash"
        in (failed["error"])
    )
    assert "exceeded 95%" not in failed["error"]
