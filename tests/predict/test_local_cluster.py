"""A local cluster (`--scheduler local:N`) runs its nannies in the caller's process: it
leaves the caller's environment as it found it (the caller's own settings made meanwhile
too, and after a failed start), its workers' torch gets their cores whatever the caller
exported, each worker may use its share of the memory, and a replaced worker is let go."""

from __future__ import annotations

import os

import pytest

pytest.importorskip("distributed")


def test_a_local_cluster_leaves_this_process_environment_as_it_found_it(monkeypatch):
    """A nanny sets OMP_NUM_THREADS and the like in this process as it spawns its worker:
    they were left behind, for later subprocesses (`inkloop train` from a notebook) and the
    next local cluster, whose nannies took the stale count over their own."""
    from inkloop._cpus import usable_cpus
    from inkloop.predict.batch import cluster_client

    monkeypatch.setenv("OMP_NUM_THREADS", "7")  # a job script's export, or a former cluster's
    before = dict(os.environ)
    with cluster_client("local:1", device="cpu") as client:
        seen = client.run(_threads_variable)
    assert list(seen.values()) == [str(usable_cpus())]  # torch gets the worker's cores
    assert dict(os.environ) == before


def test_the_callers_own_settings_made_while_a_local_cluster_ran_stay(monkeypatch):
    """The cluster put back the environment it found as it closed, the caller's own
    settings made meanwhile (a notebook's other cell, `cluster_client`'s caller) too."""
    from inkloop.predict.batch import cluster_client

    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    monkeypatch.delenv("MALLOC_TRIM_THRESHOLD_", raising=False)
    with cluster_client("local:1", device="cpu"):
        monkeypatch.setenv("OMP_NUM_THREADS", "3")
        monkeypatch.setenv("MALLOC_TRIM_THRESHOLD_", "0")
    kept = os.environ.get("OMP_NUM_THREADS"), os.environ.get("MALLOC_TRIM_THRESHOLD_")
    assert kept == ("3", "0")


def _threads_variable() -> str | None:
    """On a worker: the OMP_NUM_THREADS its torch read."""
    return os.environ.get("OMP_NUM_THREADS")


def test_a_cpu_worker_may_use_its_share_of_the_memory_not_of_the_cores():
    """distributed's "auto" limit is the memory's share of the worker's one thread: 1/cores
    of it, paused at 80% and killed at 95%, for the only worker of local:1 on a big node."""
    from distributed.system import MEMORY_LIMIT

    from inkloop.predict.batch import cluster_client

    with cluster_client("local:1", device="cpu") as client:
        workers = client.scheduler_info(n_workers=-1)["workers"].values()
        limits = [worker["memory_limit"] for worker in workers]
    assert limits == [MEMORY_LIMIT]


def test_each_of_n_cpu_workers_may_use_1_over_n_of_the_memory():
    """local:1 above cannot tell 1/N from 1/cores on a one-core runner: here a node of 16
    cores runs 4 one-thread workers, each of which distributed ("auto") would give 1/16."""
    import logging

    from distributed.system import MEMORY_LIMIT
    from distributed.worker_memory import parse_memory_limit

    from inkloop.predict._cluster import worker_options

    options = worker_options(0, gpus=0, cores=4, workers=4)
    limit = options.get("memory_limit", "auto")  # a nanny's default
    parsed = parse_memory_limit(
        limit, options["nthreads"], total_cores=16, logger=logging.getLogger()
    )
    assert parsed == int(MEMORY_LIMIT / 4)


def test_a_local_cluster_that_fails_to_start_leaves_the_callers_thread_settings(monkeypatch):
    """The thread variables are set to the workers' count before the nannies spawn: a start
    that failed first (a port taken, Ctrl+C) had removed the caller's own for good."""
    import distributed

    from inkloop.predict.batch import cluster_client

    class NoScheduler(distributed.SpecCluster):
        def __init__(self, *args, **kwargs):
            raise OSError("the scheduler's port is taken")

    monkeypatch.setattr(distributed, "SpecCluster", NoScheduler)
    monkeypatch.setenv("OMP_NUM_THREADS", "8")
    monkeypatch.setenv("MKL_NUM_THREADS", "8")
    with pytest.raises(OSError, match="port is taken"), cluster_client("local:2", device="cpu"):
        pass
    assert (os.environ.get("OMP_NUM_THREADS"), os.environ.get("MKL_NUM_THREADS")) == ("8", "8")


@pytest.mark.slow
def test_a_replaced_workers_process_is_let_go_without_a_garbage_collection(monkeypatch):
    """Nothing on the nanny's process object refers back to it: a worker replaced after the
    OOM killer took it leaves no Process, pipe or descriptors behind until a gen-2 gc."""
    import gc
    import signal
    import weakref

    import distributed.process

    from inkloop.predict.batch import cluster_client

    made, init = [], distributed.process.AsyncProcess.__init__

    def recorded(self, *args, **kwargs):
        init(self, *args, **kwargs)
        made.append(weakref.ref(self))

    monkeypatch.setattr(distributed.process.AsyncProcess, "__init__", recorded)
    with cluster_client("local:1", device="cpu") as client:
        (pid,) = client.run(os.getpid).values()
        os.kill(pid, signal.SIGKILL)
        assert client.submit(os.getpid, pure=False).result(timeout=60) != pid
        gc.disable()
        try:
            alive = [ref() for ref in made if ref() is not None]
        finally:
            gc.enable()
    assert (len(made), len(alive)) == (2, 1)  # the replacement alone is alive
