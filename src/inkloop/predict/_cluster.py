"""A dask.distributed client for `inkloop predict --scheduler`: a local cluster or a running one."""

from __future__ import annotations

import logging
import os
import signal
import weakref
from contextlib import ExitStack, contextmanager

from inkloop._cpus import usable_cpus
from inkloop.predict._nanny import THREAD_VARS, environ_kept, script_hiding_nanny
from inkloop.predict._workers import check_workers

log = logging.getLogger(__name__)
# a local cluster listens on this machine only, where every account reaches 127.0.0.1 and a
# dask task is a pickled function: hence TLS with credentials of its own (`throwaway_tls`)
LOOPBACK = "127.0.0.1"
MISSING = (
    "--scheduler needs dask.distributed, an optional dependency: "
    "pip install '.[cluster]' in inkloop's clone"
)
NO_TLS = (
    "--scheduler local:N needs cryptography, for TLS between its processes: "
    "pip install '.[cluster]' in inkloop's clone"
)
NO_TLS_CONFIG = (
    "--scheduler {address}: a tls:// scheduler needs this machine's credentials in dask's "
    "configuration (distributed.comm.tls.ca-file, .client.cert and .client.key), and none are set"
)
# the local clusters this process started, by scheduler address: a Client named by one's
# address connects with its credentials
_OWN_CLUSTERS: weakref.WeakValueDictionary = weakref.WeakValueDictionary()


def parse_scheduler(text: str) -> str | int:
    """``local:N`` -> N (worker processes), ``tcp://HOST:PORT`` (or tls://) -> the address."""
    if text.startswith("local:"):
        count = text.removeprefix("local:")
        if not count.isdigit() or int(count) < 1:
            raise ValueError(f"--scheduler {text}: expected local:N with N workers, N >= 1")
        return int(count)
    if "://" in text:
        return text
    raise ValueError(f"--scheduler {text}: expected local:N or an address like tcp://HOST:8786")


@contextmanager
def cluster_client(scheduler: str, *, device: str = "auto"):
    """A Client of ``scheduler`` (`parse_scheduler`), closed (with its cluster) on exit; the
    workers it has checked first (`check_workers`; those joining later, and a cluster left
    without any, are watched while the run waits: `WorkersWatch`)."""
    try:
        from distributed import Client
    except ImportError as error:
        raise RuntimeError(MISSING) from error
    target = parse_scheduler(scheduler)
    with ExitStack() as stack:
        local = isinstance(target, int)
        cluster = stack.enter_context(_local_cluster_run(target, device)) if local else None
        own = cluster or _OWN_CLUSTERS.get(target)  # one this process started, named by address
        security = own.security if own is not None else _configured_security(target)
        client = stack.enter_context(Client(cluster or target, timeout="30s", security=security))
        check_workers(client, scheduler)
        yield client


@contextmanager
def _local_cluster_run(workers: int, device: str):
    """`local_cluster`, closed on exit; this process's environment as it was before, after
    that too (`environ_kept`): a nanny that replaced a lost worker set its variables again."""
    with environ_kept(_cores_each(workers)):
        cluster = local_cluster(workers, device)
        try:
            yield cluster
        finally:
            cluster.close()


def _configured_security(address: str):
    """The credentials dask's configuration gives a scheduler inkloop did not start; None for
    a plain tcp:// one. A tls:// one without them is refused here in a sentence (distributed
    raises a TypeError about an ssl_context)."""
    if not address.startswith("tls://"):
        return None
    from distributed import Security

    security = Security()
    if security.get_connection_args("client")["ssl_context"] is None:
        raise ValueError(NO_TLS_CONFIG.format(address=address))
    return security


def local_cluster(workers: int, device: str = "auto"):
    """``workers`` worker processes on this machine, each with an equal share of the cores
    and of the memory (`worker_options`), speaking mutual TLS with credentials of their own
    (`throwaway_tls`). Their nannies live in this process: they spawn each worker, and any
    that replaces a lost one, with the caller's script hidden (`script_hiding_nanny`), and
    this process's environment is put back as it was once they started (`environ_kept`)."""
    import dask
    from distributed import Scheduler, SpecCluster

    security = throwaway_tls()
    gpus = _gpu_count() if device in ("auto", "cuda") else 0
    cores = _cores_each(workers)
    specs = {
        f"inkloop-{i}": {
            "cls": script_hiding_nanny(),  # it passes the credentials on through spawn's pipe
            "options": {**worker_options(i, gpus, cores, workers), "security": security},
        }
        for i in range(workers)
    }
    # a free port: None would still try 8787, and warn where that is taken
    options = {"host": LOOPBACK, "dashboard_address": f"{LOOPBACK}:0", "protocol": "tls"}
    scheduler = {"cls": Scheduler, "options": {**options, "security": security}}
    # distributed starts workers with OMP_NUM_THREADS=1 (a guard against oversubscribing
    # many-thread workers); ours run one task at a time, so torch gets the worker's cores.
    # It must be set before the worker process starts: OpenMP reads it once, at load.
    threads = {f"distributed.nanny.pre-spawn-environ.{name}": cores for name in THREAD_VARS}
    # the cluster starts its workers (spawned by their nannies) before it returns
    with dask.config.set(threads), environ_kept(cores):
        for name in THREAD_VARS:  # a nanny takes this process's value over the config's;
            os.environ[name] = str(cores)  # the nanny's own value: put back on any way out
        cluster = SpecCluster(
            workers=specs, scheduler=scheduler, security=security, silence_logs=logging.ERROR
        )
    _OWN_CLUSTERS[cluster.scheduler_address] = cluster
    return cluster


def throwaway_tls():
    """Self-signed mutual-TLS credentials, made now, that no file holds (dask writes them for
    a moment to a private temporary folder to load them): only this process and the workers
    it starts can connect to one another."""
    from distributed import Security

    try:
        import cryptography  # noqa: F401  (Security.temporary's own message names no extra)
    except ImportError as error:
        raise RuntimeError(NO_TLS) from error
    return Security.temporary()


def worker_options(index: int, gpus: int, cores: int, workers: int) -> dict:
    """Nanny options of worker ``index`` of ``workers``, with ``cores`` cores and 1/``workers``
    of the memory of its own (distributed's default is its threads' share: 1/cores for a
    one-thread worker). With GPUs each worker sees one (round robin) as its cuda:0 and runs a
    block per core at once: the GPU waits on the CPU's reading, composing and blending, so
    one block at a time starves it (on an H200, one such worker predicted 3.5 MP/s where 16
    threads in one process made 7.1). Without, a worker runs one block at a time and torch
    gets its cores."""
    env = {"CUDA_VISIBLE_DEVICES": _worker_gpu(index, gpus)} if gpus else {}
    threads = cores if gpus else 1
    options = {"nthreads": threads, "env": env, "host": LOOPBACK, "silence_logs": logging.ERROR}
    # a float is a share of the memory: the machine's, or its cgroup's limit where lower
    options["memory_limit"] = 1 / workers
    return {**options, "preload": [__name__]}  # its dask_setup runs in each worker process


def _cores_each(workers: int) -> int:
    """The cores of each of ``workers`` local workers."""
    return max(1, usable_cpus() // workers)


def _worker_gpu(index: int, gpus: int) -> str:
    """The GPU of worker ``index`` among the ``gpus`` this process sees, as the worker's
    CUDA_VISIBLE_DEVICES: an entry of this process's own list where it has one (a job given
    GPUs 2 and 3 sees them as 0 and 1, but CUDA_VISIBLE_DEVICES names physical GPUs)."""
    visible = os.environ.get("CUDA_VISIBLE_DEVICES")
    if not visible:
        return str(index % gpus)
    entries = [entry.strip() for entry in visible.split(",")][:gpus]
    return entries[index % len(entries)]


def dask_setup(worker) -> None:
    """Ignore Ctrl+C in a local worker process, as it starts. A terminal sends SIGINT to
    the whole process group, workers included: the parent cancels and closes them itself,
    and a worker's own KeyboardInterrupt would only print its traceback. Its log keeps
    quiet about failed tasks, which inkloop reports (`_not_said_by_inkloop`)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    logging.getLogger("distributed.worker").addFilter(_not_said_by_inkloop)


def _not_said_by_inkloop(record: logging.LogRecord) -> bool:
    """False for the worker's log of what inkloop says itself in one line: a task's error
    (`predict_jobs` names its segment) and, once a failed run closes its workers, the
    tracebacks of transfers between them cut short."""
    return not str(record.msg).startswith(_SAID_BY_INKLOOP)


_SAID_BY_INKLOOP = ("Compute Failed", "Worker stream died during communication")


def dashboard_address(client) -> str | None:
    """The dashboard's URL, when the scheduler serves one: without bokeh there its HTTP
    server answers there too, with a page asking for bokeh."""
    import importlib.util

    if not client.scheduler_info().get("services", {}).get("dashboard"):
        return None
    try:
        has_bokeh = client.run_on_scheduler(importlib.util.find_spec, "bokeh") is not None
    except Exception as error:  # a link is not worth a failed run
        log.warning("could not ask the scheduler for its dashboard: %s", error)
        return None
    return client.dashboard_link if has_bokeh else None


def _gpu_count() -> int:
    import torch

    return torch.cuda.device_count() if torch.cuda.is_available() else 0
