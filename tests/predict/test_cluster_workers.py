"""The workers of `inkloop predict --scheduler`: one that cannot run this inkloop's tasks is
refused in one line before any work (it used to hang the run at 0 chunks), as is one that
joins later; a cluster with none at connect is used (an adaptive one starts them for the
run's tasks); a shared scheduler is left as it was; and a local worker's GPU is one of
those this process was given."""

from __future__ import annotations

import os
import re

import pytest

from inkloop.synthetic import write_segment
from tests._helpers import save_tiny_checkpoint

pytest.importorskip("distributed")

# preloads of a worker (run as it starts): one on a machine without inkloop, one with
# another inkloop version
NO_INKLOOP = """
import sys
for name in [name for name in sys.modules if name.startswith("inkloop.")]:
    del sys.modules[name]
sys.modules["inkloop"] = None  # import inkloop raises ModuleNotFoundError
"""
OLD_INKLOOP = """
import inkloop
inkloop.__version__ = "0.0.9-old"
"""


@pytest.fixture
def plain_cluster():
    """A running tcp:// cluster inkloop did not start, with no worker yet: a scheduler in
    this process that workers of a test's choosing join."""
    from distributed import LocalCluster

    cluster = LocalCluster(
        n_workers=0, processes=False, protocol="tcp", host="127.0.0.1", dashboard_address=":0"
    )
    try:
        yield cluster
    finally:
        cluster.close()


def _worker_process(preload):
    from distributed import Nanny

    options = {"nthreads": 1, "host": "127.0.0.1", "preload": [str(preload)]}
    return {"cls": Nanny, "options": options}


def test_workers_without_this_inkloop_are_refused_in_one_line_naming_them(tmp_path):
    from distributed import Scheduler, SpecCluster, Worker

    import inkloop
    from inkloop.predict.batch import cluster_client

    for name, text in [("no_inkloop.py", NO_INKLOOP), ("old_inkloop.py", OLD_INKLOOP)]:
        (tmp_path / name).write_text(text)
    workers = {
        "bare": _worker_process(tmp_path / "no_inkloop.py"),
        "stale": _worker_process(tmp_path / "old_inkloop.py"),
        "good": {"cls": Worker, "options": {"nthreads": 1, "host": "127.0.0.1"}},  # in here
    }
    scheduler = {"cls": Scheduler, "options": {"host": "127.0.0.1", "dashboard_address": None}}
    cluster = SpecCluster(workers=workers, scheduler=scheduler)
    try:
        address = cluster.scheduler_address
        with pytest.raises(RuntimeError) as refused, cluster_client(address):
            pytest.fail("a cluster with workers that cannot run inkloop's tasks was used")
    finally:
        cluster.close()
    said = str(refused.value)
    assert "\n" not in said
    assert f"--scheduler {address}: " in said
    assert re.search(r"\bbare \(tcp://[\d.:]+\) has no inkloop[;:]", said)
    assert re.search(r"\bstale \(tcp://[\d.:]+\) has inkloop 0\.0\.9-old[;:]", said)
    assert "good" not in said
    assert f"every worker needs inkloop {inkloop.__version__}" in said


def test_workers_of_this_inkloop_are_let_in(plain_cluster):
    from inkloop.predict.batch import cluster_client

    plain_cluster.scale(1)
    with cluster_client(plain_cluster.scheduler_address) as client:
        assert client.submit(sum, [1, 2]).result() == 3


def test_an_adaptive_cluster_starts_its_workers_for_the_run(tmp_path, monkeypatch):
    """A cluster with no worker until tasks wait (dask-jobqueue, dask-gateway, Coiled): the
    run is not refused for having none at connect (it was, after WORKERS_WAIT_S), and the
    worker it starts is probed."""
    from distributed import LocalCluster

    import inkloop.predict._workers as workers
    from inkloop.headless import predict_segments

    monkeypatch.setattr(workers, "WORKERS_WAIT_S", 0.2, raising=False)  # the old code's wait
    probed = []
    real_check = workers.check_workers
    monkeypatch.setattr(workers, "check_workers", lambda *a: probed.append(a[2:]) or real_check(*a))
    write_segment(tmp_path / "a", 64, 64, 8, seed=0)
    model = save_tiny_checkpoint(tmp_path / "model.pt")
    options = {"n_workers": 0, "processes": False, "dashboard_address": None}
    with LocalCluster(**options) as cluster:
        cluster.adapt(minimum=0, maximum=1, interval="50ms")
        summary = predict_segments(
            [tmp_path / "a"],
            model,
            out_dir=tmp_path / "out",
            fmt="png",
            scheduler=cluster.scheduler_address,
            device="cpu",
            progress=False,
        )
    assert summary["written"] == [str(tmp_path / "out" / "a_prediction.png")]
    assert [joined for joined in probed if joined] != []  # its worker, once it joined


def test_a_shared_scheduler_is_left_as_it_was(plain_cluster):
    """Its no-workers-timeout is the scheduler's: inkloop set it on a running scheduler,
    for every client of it, and a second run's end unset it under the first."""

    def timeout(dask_scheduler):
        return dask_scheduler.no_workers_timeout

    from inkloop.predict.batch import cluster_client

    plain_cluster.scale(1)
    with cluster_client(plain_cluster.scheduler_address) as client:
        assert client.run_on_scheduler(timeout) is None


def test_a_worker_that_joins_unfit_stops_the_run_in_one_line(monkeypatch):
    """Probed as it joins, while the run waits on its chunks: before, only the workers there
    at connect were probed."""
    import inkloop
    import inkloop.predict._workers as workers

    monkeypatch.setattr(workers, "WATCH_EVERY_S", 0.0)
    ours = {"inkloop": inkloop.__version__, "torch": "2.0.0"}
    cluster = _Answered({"tcp://a:1": ours})
    watch = workers.WorkersWatch(cluster, "tcp://s:1")
    watch.look()
    cluster.answers["tcp://b:1"] = {"inkloop": None, "torch": None}
    with pytest.raises(
        RuntimeError, match=r"^--scheduler tcp://s:1: tcp://b:1 has no inkloop: "
    ) as e:
        watch.look()
    assert str(e.value).endswith(
        "and torch; it joined while the run went on, which stops here: finished files stay, "
        "a rerun resumes (with that worker stopped or given this inkloop)"
    )


def test_a_local_worker_gets_one_of_the_gpus_this_process_was_given(monkeypatch):
    from inkloop.predict._cluster import worker_options

    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "2,3")  # torch counts 2 GPUs (faked here)
    given = [
        worker_options(i, gpus=2, cores=8, workers=3)["env"]["CUDA_VISIBLE_DEVICES"]
        for i in range(3)
    ]
    assert given == ["2", "3", "2"]

    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "GPU-aa, GPU-bb")  # by UUID, spaced
    given = [
        worker_options(i, gpus=2, cores=8, workers=3)["env"]["CUDA_VISIBLE_DEVICES"]
        for i in range(2)
    ]
    assert given == ["GPU-aa", "GPU-bb"]

    monkeypatch.delenv("CUDA_VISIBLE_DEVICES")  # every GPU of the machine
    given = [
        worker_options(i, gpus=2, cores=8, workers=3)["env"]["CUDA_VISIBLE_DEVICES"]
        for i in range(3)
    ]
    assert given == ["0", "1", "0"]


class _Answered:
    """A client of a cluster whose workers (by address) answered ``answers`` to the probe."""

    status = "running"

    def __init__(self, answers: dict):
        self.answers = answers
        self.scheduler = type("Scheduler", (), {"address": "tcp://s:1"})

    def run(self, function, workers=None, on_error="raise"):
        return {a: self.answers[a] for a in workers or self.answers}

    def nthreads(self):
        return dict.fromkeys(self.answers, 1)

    def scheduler_info(self, n_workers=5):
        return {"workers": {address: {"name": address} for address in self.answers}}


def test_a_worker_without_torch_is_refused_and_another_torch_release_is_told():
    from importlib.metadata import version

    import inkloop
    from inkloop._notify import InkloopWarning
    from inkloop.predict._workers import check_workers

    ours, here = inkloop.__version__, version("torch")
    without = _Answered({"tcp://a:1": {"inkloop": ours, "torch": None}})
    with pytest.raises(RuntimeError, match=r"^--scheduler tcp://s:1: tcp://a:1 has no torch: "):
        check_workers(without, "tcp://s:1")

    other = {
        "tcp://a:1": {"inkloop": ours, "torch": "1.0.0"},
        "tcp://b:1": {"inkloop": ours, "torch": here.split("+")[0] + "+cu999"},  # same release
    }
    told = rf"^tcp://a:1 has torch 1\.0\.0, this machine {re.escape(here)}: predictions may"
    with pytest.warns(InkloopWarning, match=told) as warned:
        check_workers(_Answered(other), "tcp://s:1")  # not refused
    assert "tcp://b:1" not in str(warned[0].message)


def _inkloop_caches() -> tuple[list[str], list[str]]:
    """On a worker: the names of the decoded masks and the model files inkloop keeps there."""
    from inkloop.predict import _segment, _travel

    models = getattr(_travel, "_MODELS", None)  # (the old code's lru_cache had no names)
    return sorted(_segment._MASKS), sorted({str(path) for path, _stamp in models or ()})


def _theirs_kept(model: str) -> None:
    """On a worker: what another inkloop run on the same cluster keeps there."""
    import numpy as np

    from inkloop.predict import _segment, _travel

    _segment._MASKS["their-mask"] = np.ones((4, 4), np.float32)
    with _travel._PLACING:
        _travel._model_from_file(model, _travel._stamp(model))


@pytest.mark.slow
def test_a_shared_cluster_keeps_no_mask_nor_model_of_a_run(tmp_path, monkeypatch):
    """Its workers live on after a run, failed or finished: the segments' decoded masks and
    the model stayed in their memory (up to 2 x 600 MB and a model each), counted against
    other jobs' limits. What else is on them (a user's data, another inkloop run's masks
    and model) stays: that run would decode and build them again."""
    from distributed import LocalCluster

    from inkloop.predict import _batch
    from inkloop.predict.batch import cluster_client, plan_jobs, predict_jobs

    segment = write_segment(tmp_path / "20240101000000", 64, 64, 8, seed=0)  # with a mask
    model = save_tiny_checkpoint(tmp_path / "model.pt")
    theirs = str(save_tiny_checkpoint(tmp_path / "their_model.pt"))
    staged = _batch._stage
    options = {"n_workers": 1, "threads_per_worker": 2, "dashboard_address": None}
    cluster = LocalCluster(host="127.0.0.1", **options)  # another's, with their data on it
    with cluster, cluster_client(cluster.scheduler_address) as client:
        users, pids = client.scatter("their data"), client.run(os.getpid)
        client.run(_theirs_kept, theirs)
        only_theirs = (["their-mask"], [theirs])
        # its blocks are computed, then find no staged output to store into
        monkeypatch.setattr(_batch, "_stage", lambda *a: _staging_removed(*staged(*a)))
        with pytest.raises(RuntimeError, match="could not find"):
            predict_jobs(model, plan_jobs([segment], tmp_path / "a")[0], client, progress=False)
        assert list(client.run(_inkloop_caches).values()) == [only_theirs]
        monkeypatch.undo()
        predict_jobs(model, plan_jobs([segment], tmp_path / "b")[0], client, progress=False)
        assert list(client.run(_inkloop_caches).values()) == [only_theirs]
        assert users.result() == "their data"
        assert client.run(os.getpid) == pids  # the same workers


def test_a_run_ends_while_a_worker_decodes_another_runs_mask(tmp_path):
    """The run's end waited, on the worker's event loop, for the lock of a mask being
    decoded (another run's ~600 MB): that worker's heartbeats, transfers and every other
    client's requests waited too. Here the lock is held until the run has ended."""
    import threading

    from distributed import LocalCluster

    from inkloop.predict import _segment
    from inkloop.predict.batch import cluster_client, plan_jobs, predict_jobs

    segment = write_segment(tmp_path / "20240101000000", 64, 64, 8, seed=0)
    (segment / "20240101000000_mask.png").unlink()  # its blocks take no lock
    model = save_tiny_checkpoint(tmp_path / "model.pt")
    jobs = plan_jobs([segment], tmp_path / "out")[0]
    options = {"n_workers": 1, "processes": False, "protocol": "tcp", "dashboard_address": None}
    ended = threading.Event()

    def run() -> None:
        predict_jobs(model, jobs, client, progress=False)
        ended.set()

    cluster = LocalCluster(host="127.0.0.1", **options)  # its worker: in here
    with cluster, cluster_client(cluster.scheduler_address) as client, _segment._DECODING:
        predicting = threading.Thread(target=run, daemon=True)
        predicting.start()
        predicting.join(timeout=60)  # only a bound on a hang: the lock is still held
        assert ended.is_set(), "the run's end waited for another run's decoding"


def _staging_removed(output, store):
    import shutil

    shutil.rmtree(output.staging)
    return output, store
