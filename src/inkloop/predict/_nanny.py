"""What a local cluster's nannies do in this process: spawn each worker with the caller's
script hidden, and set variables that are put back afterwards."""

from __future__ import annotations

import functools
import os
from contextlib import contextmanager

from inkloop._spawn import main_hidden

# the thread counts `local_cluster` gives its workers, through a nanny's pre-spawn-environ
THREAD_VARS = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS")


@functools.cache
def script_hiding_nanny() -> type:
    """distributed's Nanny, spawning its worker with the caller's script hidden (`main_hidden`)
    whenever it does: as the cluster starts, and when it replaces a worker that died (the
    OOM killer, its memory limit), mid-run. A worker spawned with the script runs it again
    first: one without a main guard starts a cluster of its own there, and dies. Hidden for
    the spawn only (its AsyncProcess's ``start``), not while the worker boots and registers: the
    caller's other threads cannot pickle instances of the script's classes meanwhile."""
    from distributed import Nanny
    from distributed.nanny import WorkerProcess
    from distributed.process import AsyncProcess

    class ScriptHidingAsyncProcess(AsyncProcess):
        async def start(self):  # its future resolves once the process has spawned
            with main_hidden():
                return await super().start()

    class ScriptHidingWorkerProcess(WorkerProcess):
        _run = WorkerProcess._run  # the spawn pickles it by reference: not this local class's

        @property
        def process(self):
            return self._async_process

        @process.setter
        def process(self, process) -> None:  # an AsyncProcess, made in `WorkerProcess.start`
            if process is not None:
                process.__class__ = ScriptHidingAsyncProcess  # its spawn target is bound already
            self._async_process = process

    class ScriptHidingNanny(Nanny):
        @property
        def process(self):
            return self._worker_process

        @process.setter
        def process(self, process) -> None:  # a WorkerProcess, made in `Nanny.instantiate`
            if process is not None:
                process.__class__ = ScriptHidingWorkerProcess  # Nanny names distributed's
            self._worker_process = process

    return ScriptHidingNanny


@contextmanager
def environ_kept(cores: int):
    """This process's variables that a nanny of workers with ``cores`` cores sets in it as it
    spawns a worker (`_set_by_nanny`), after the block as they were before it. One that no
    longer holds the nanny's value the caller set meanwhile, and it stays (unless a worker
    replaced since set it again). distributed never
    puts them back: later subprocesses (`inkloop train` from a notebook) took the workers'
    thread count, and so did the next cluster."""
    set_by_nanny = _set_by_nanny(cores)
    kept = {name: os.environ.get(name) for name in set_by_nanny}
    try:
        yield
    finally:
        for name, value in kept.items():
            if os.environ.get(name) != set_by_nanny[name]:
                continue
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def _set_by_nanny(cores: int) -> dict[str, str]:
    """What a nanny sets in this process as it spawns a worker: its config's
    ``pre-spawn-environ`` (`local_cluster` gives the thread counts), a fixed PYTHONHASHSEED
    where none is set, and proctitle's parent pid."""
    import dask

    config = dask.config.get("distributed.nanny.pre-spawn-environ")
    values = {name: str(value) for name, value in config.items() if value is not None}
    values.update(dict.fromkeys(THREAD_VARS, str(cores)))
    if values.get("PYTHONHASHSEED") in (None, "0"):
        values["PYTHONHASHSEED"] = "6640"  # distributed's, in Nanny.__init__
    return {**values, "__DASK_PARENT_PID": str(os.getpid())}
