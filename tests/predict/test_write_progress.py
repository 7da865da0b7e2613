"""A prediction's progress Callback runs on its own compute only: dask's registry of
callbacks (`Callback.active`) is one for the whole process, and a compute another thread
starts meanwhile (a notebook's own) takes whatever is registered there."""

from __future__ import annotations

import threading

import dask
import dask.array as da
import dask.threaded
import numpy as np
from dask.array.optimization import optimize
from dask.callbacks import Callback

from inkloop.predict import write_prediction
from tests._helpers import WAIT_S


class TasksSeen(Callback):
    """Records the thread that ran each task's posttask."""

    def __init__(self) -> None:
        super().__init__()
        self.threads: list[str] = []

    def _posttask(self, key, result, dsk, state, worker_id) -> None:
        self.threads.append(threading.current_thread().name)


def another_compute_while_preparing(writer_thread: int, results: list):
    """An array optimisation (dask's own hook, run as a compute prepares its graph) that,
    on ``writer_thread`` and once only, lets another thread run a whole compute first and
    puts what it returned or raised in ``results``."""

    def other_compute() -> None:
        try:  # a graph as a dict: a collection's would wait for the one being prepared
            results.append(dask.threaded.get({"total": (sum, [1, 2, 3])}, "total"))
        except BaseException as error:  # what a notebook's cell would show
            results.append(error)

    def prepare(dsk, keys, **options):
        if threading.get_ident() == writer_thread and not results:
            other = threading.Thread(target=other_compute, name="notebook-cell")
            other.start()
            other.join(WAIT_S)
        return optimize(dsk, keys, **options)

    return prepare


def test_a_compute_on_another_thread_neither_runs_nor_takes_the_progress_callback(tmp_path):
    progress, results = TasksSeen(), []
    probability = da.from_array(np.full((64, 64), 0.5, np.float32), chunks=32)
    prepare = another_compute_while_preparing(threading.get_ident(), results)
    with dask.config.set(array_optimize=prepare):
        write_prediction(probability, tmp_path / "p.zarr", progress=progress, workers=1)
    assert results == [6]  # the other compute ran, and returned its own result
    assert progress.threads  # the prediction's tasks reported
    assert set(progress.threads) == {threading.current_thread().name}
    assert Callback.active == set()


def test_a_prediction_without_progress_leaves_the_registry_to_other_computes(tmp_path):
    """With ``progress=False`` too: a compute given no callbacks takes dask's registry for
    its whole run, so a user's registered Callback missed the computes of their other
    threads meanwhile."""
    registered, seen = TasksSeen(), []

    def look(block):
        seen.append(set(Callback.active))  # what another thread's compute would get now
        return block

    probability = da.from_array(np.full((64, 64), 0.5, np.float32), chunks=32)
    with registered:
        write_prediction(
            probability.map_blocks(look), tmp_path / "p.zarr", progress=False, workers=1
        )
    assert seen
    assert all(registered._callback in active for active in seen)
