"""A failure every segment of a cluster batch would meet stops it, --keep-going or not, in
one line saying the likely cause: workers killed (most often by their memory limit, which
it gives), or the outputs' folder full (named)."""

from __future__ import annotations

import errno
import os

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


@pytest.mark.slow
def test_workers_killed_stop_the_batch_saying_their_memory_limit(batch):
    import dask
    from distributed import Client, LocalCluster

    from inkloop.predict.batch import Outcome, predict_jobs

    jobs, model = batch
    outcome, options = Outcome(), {"device": "cpu", "progress": False, "keep_going": True}
    cluster = {"n_workers": 1, "threads_per_worker": 1, "memory_limit": "3GiB"}
    with (  # one death is enough to give the block up (distributed's default: 4)
        dask.config.set({"distributed.scheduler.allowed-failures": 0}),
        LocalCluster(dashboard_address=None, **cluster) as cluster,
        Client(cluster) as client,
    ):
        client.register_plugin(_DieStoring(), name="die-storing")
        with pytest.raises(RuntimeError, match="workers died running a block") as raised:
            predict_jobs(model, jobs, client, outcome=outcome, **options)
    assert "memory limit (each worker may use 3.00 GiB;" in str(raised.value)
    assert outcome.failed == []
