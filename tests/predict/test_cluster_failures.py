"""A batch on a cluster when the cluster, not a segment, fails: staging decodes the papyrus
mask in this process (it never waits on workers); a file missing on a worker names the
worker and says the workers must see the files; a lost scheduler is one line that blames
no segment, even with --keep-going, and leaves nothing staged."""

from __future__ import annotations

import logging
import threading

import pytest

from inkloop._errors import users_error
from inkloop._notify import InkloopWarning
from inkloop.checkpoint import load_checkpoint
from inkloop.predict._outcome import Outcome
from inkloop.synthetic import write_segment
from tests._helpers import save_tiny_checkpoint

pytest.importorskip("distributed")

RELEASE = threading.Event()  # what a blocked block waits for (a worker in this process)


def _blocked_block():
    """A task that runs until the test releases it (by reference: the same Event here)."""
    RELEASE.wait(60)
    raise RuntimeError("released: the test is over")


@pytest.fixture
def batch(tmp_path):
    """Segments a and b (with papyrus masks) and a tiny model."""
    for seed, name in enumerate("ab"):
        write_segment(tmp_path / name, 64, 64, 8, seed=seed)
    return tmp_path, save_tiny_checkpoint(tmp_path / "model.pt")


@pytest.fixture
def cluster():
    """A cluster whose scheduler and worker run in this process (no start-up to wait for)."""
    import dask
    from distributed import LocalCluster

    RELEASE.clear()
    options = {"n_workers": 1, "threads_per_worker": 2, "dashboard_address": None}
    # a closed scheduler is not waited for long, by its clients or the cluster's close
    with (
        dask.config.set({"distributed.comm.timeouts.connect": "1s"}),
        LocalCluster(processes=False, **options) as cluster,
    ):
        try:
            yield cluster
        finally:
            RELEASE.set()


@pytest.fixture
def client(cluster):
    from distributed import Client

    with Client(cluster) as client:
        yield client


def _jobs(root):
    from inkloop.predict.batch import plan_jobs

    jobs, _skipped = plan_jobs([root / "a", root / "b"], root / "out", "png")
    return jobs


def test_staging_decodes_the_mask_here_not_on_the_cluster(batch):
    """Inside `with Client(...)` dask computes on the cluster by default: a mask decoded
    that way waited on the workers (for ever where none can run inkloop's tasks)."""
    import dask

    from inkloop.predict import _batch

    root, model = batch

    def on_the_cluster(*args, **kwargs):
        raise AssertionError("staging computed through the default (cluster's) scheduler")

    with dask.config.set(scheduler=on_the_cluster):
        output, _marks = _batch._stage(load_checkpoint(model), model, _jobs(root)[0], "cpu", 0, 0)
    output.abandon()


def test_a_file_missing_on_a_worker_names_the_worker(batch, client, monkeypatch):
    """b's mask leaves once b is staged: its worker decodes it and finds none."""
    from inkloop.predict import _batch
    from inkloop.predict.batch import Outcome, predict_jobs

    root, model = batch

    def mask_gone_once_staged(client, checkpoint, weights, job, *args):
        staged = real(client, checkpoint, weights, job, *args)
        if job.segment.name == "b":
            (job.segment / "b_mask.png").unlink()
        return staged

    real = _batch._staged
    monkeypatch.setattr(_batch, "_staged", mask_gone_once_staged)
    outcome, options = Outcome(), {"device": "cpu", "progress": False, "keep_going": True}
    with pytest.warns(InkloopWarning, match="going on with the other segments"):
        predict_jobs(model, _jobs(root), client, outcome=outcome, **options)
    assert [p.name for p in outcome.written] == ["a_prediction.png"]
    (failed,) = outcome.failed
    (worker,) = client.scheduler_info()["workers"]
    assert failed["error"] == (
        f"{root / 'b'}: on worker 0 ({worker}): {root / 'b' / 'b_mask.png'}: no such image "
        "file (the workers must see the segments and the model at the same paths as this "
        "machine)"
    )


def test_a_lost_scheduler_is_one_line_blaming_no_segment(batch, cluster, monkeypatch):
    """The scheduler goes away while both segments' blocks run. Before, each segment failed
    alone ("a block was cancelled"), after distributed's tracebacks of the loss."""
    import dask

    from inkloop.headless import predict_segments
    from inkloop.predict import _batch
    from inkloop.predict._outputs import PredictionFile
    from inkloop.predict.batch import Outcome

    root, model = batch

    def scheduler_gone_once_staged(client, checkpoint, weights, job, *args):
        output, block = PredictionFile(job.out, "png", (64, 64)), client.submit(_blocked_block)
        if job.segment.name == "b":  # the last one staged
            cluster.sync(cluster.scheduler.close)
        return output, {block.key: block}

    monkeypatch.setattr(_batch, "_staged", scheduler_gone_once_staged)
    logged = []
    heard = logging.Handler(logging.ERROR)
    heard.emit = logged.append
    monkeypatch.setattr(logging.getLogger("distributed.client"), "handlers", [heard])
    outcome, address = Outcome(), cluster.scheduler_address
    options = {"scheduler": address, "device": "cpu", "progress": False, "keep_going": True}
    with pytest.raises(RuntimeError) as lost:  # a user's error: one line, no traceback
        predict_segments(
            [root / "a", root / "b"], model, out_dir=root / "out", outcome=outcome, **options
        )
    assert str(lost.value) == (
        f"lost the scheduler {address}; finished files stay, a rerun resumes (a dask worker "
        "stops with its scheduler: start both again)"
    )
    assert users_error(lost.value, command=True)
    assert outcome.failed == []  # no segment blamed
    assert list((root / "out").iterdir()) == []  # nothing staged left behind
    assert logged == []  # nor distributed's tracebacks of the loss, as it closes
    assert dask.config.get("scheduler", None) is None  # dask computes here again


def test_a_run_stopped_while_the_scheduler_is_away_asks_the_workers_nothing(
    batch, cluster, monkeypatch, caplog
):
    """b's staging fails just after the scheduler went away, while the client reconnects.
    Before, the run's end asked the workers to forget its masks and models: it waited for
    the reconnect to give up (30 s by default), then warned they may keep them."""
    from distributed import Client, wait
    from distributed.client import FuturesCancelledError

    from inkloop.predict import _batch
    from inkloop.predict._outputs import PredictionFile
    from inkloop.predict.batch import predict_jobs

    root, model = batch
    blocks = []

    def b_fails_once_the_scheduler_left(client, checkpoint, weights, job, *args):
        if job.segment.name == "b":
            cluster.sync(cluster.scheduler.close)
            with pytest.raises(FuturesCancelledError):  # once the client saw the loss
                wait(blocks)  # so it is reconnecting now
            return RuntimeError("b's layers are unreadable")
        blocks.append(client.submit(_blocked_block))
        return PredictionFile(job.out, "png", (64, 64)), {blocks[0].key: blocks[0]}

    monkeypatch.setattr(_batch, "_staged", b_fails_once_the_scheduler_left)
    with (  # not 30 s: on the old code the end waits for the reconnect to give up
        Client(cluster.scheduler_address, timeout="3s") as client,
        pytest.raises(RuntimeError, match="b's"),
    ):
        predict_jobs(model, _jobs(root), client, device="cpu", progress=False)
    assert [r.message for r in caplog.records if r.name == "inkloop.predict._workers"] == []
    assert list((root / "out").iterdir()) == []  # a's staged output removed


def _workers_gone_once_staged(cluster):
    """A `_staged` whose block is submitted once every worker of ``cluster`` left."""
    from inkloop.predict._outputs import PredictionFile

    def staged(client, checkpoint, weights, job, *args):
        client.retire_workers()
        cluster.scale(0)  # none comes back
        block = client.submit(sum, [1, 2], pure=False)
        return PredictionFile(job.out, "png", (64, 64)), {block.key: block}

    return staged


def _gone(batch, cluster, monkeypatch) -> tuple[str, Outcome]:
    """What stopped a --keep-going batch of a and b whose workers all left as it staged."""
    from inkloop.headless import predict_segments
    from inkloop.predict import _batch
    from inkloop.predict.batch import Outcome

    root, model = batch
    monkeypatch.setattr(_batch, "_staged", _workers_gone_once_staged(cluster))
    outcome, address = Outcome(), cluster.scheduler_address
    options = {"scheduler": address, "device": "cpu", "progress": False, "keep_going": True}
    with pytest.raises(RuntimeError) as gone:
        predict_segments(
            [root / "a", root / "b"], model, out_dir=root / "out", outcome=outcome, **options
        )
    assert users_error(gone.value, command=True)  # one line, no traceback
    assert list((root / "out").iterdir()) == []  # nothing staged left behind
    return str(gone.value), outcome


def test_workers_all_gone_stop_the_batch_in_one_line_blaming_no_segment(
    batch, cluster, monkeypatch
):
    """Watched from here: no worker for NO_WORKERS_TIMEOUT_S (0.01 s here). Before, the run set
    that timeout on the scheduler, for all its clients, and each segment failed with dask's
    NoWorkerError."""
    import inkloop.predict._workers as workers

    monkeypatch.setattr(workers, "NO_WORKERS_TIMEOUT_S", 0.01)
    monkeypatch.setattr(workers, "WATCH_EVERY_S", 0.0, raising=False)
    said, outcome = _gone(batch, cluster, monkeypatch)
    address = cluster.scheduler_address
    assert said == (
        f"every worker left the scheduler {address} and none came back in 0 s; finished "
        "files stay, a rerun resumes"
    )
    assert outcome.failed == []


def test_the_schedulers_own_no_workers_timeout_blames_no_segment(batch, monkeypatch):
    """A scheduler started with distributed.scheduler.no-workers-timeout fails the blocks
    itself (NoWorkerError): each segment was blamed for it, the first alone without
    --keep-going."""
    import dask
    from distributed import LocalCluster

    options = {"n_workers": 1, "processes": False, "dashboard_address": None}
    with (
        dask.config.set({"distributed.scheduler.no-workers-timeout": "50ms"}),
        LocalCluster(**options) as cluster,
    ):
        said, outcome = _gone(batch, cluster, monkeypatch)
        address = cluster.scheduler_address
    assert said == (
        f"every worker left the scheduler {address} and none came back in its "
        "no-workers-timeout; finished files stay, a rerun resumes"
    )
    assert outcome.failed == []


def test_a_finished_batch_rerun_reaches_no_cluster(batch, monkeypatch):
    """Nothing is left to do: before, the rerun connected (or started local:N) and checked
    the workers, and was refused where the scheduler had none at the moment."""
    import inkloop.predict.batch
    from inkloop.headless import predict_segments

    root, model = batch
    options = {"out_dir": root / "out", "fmt": "png", "device": "cpu", "progress": False}
    predict_segments([root / "a", root / "b"], model, **options)

    def no_cluster(*args, **kwargs):
        raise AssertionError("a finished batch reached for its cluster")

    monkeypatch.setattr(inkloop.predict.batch, "cluster_client", no_cluster)
    summary = predict_segments([root / "a", root / "b"], model, scheduler="tcp://x:1", **options)
    assert summary["written"] == []
    assert len(summary["skipped"]) == 2
