"""Training batches made in worker processes, for a GPU that steps faster than one Python
thread can sample, and without that thread's share of the GIL slowing the step's launches.

Each worker runs its own `PatchSampler` over the same segment files and the same labels, held
in shared memory (`LabelStore.share`): a stroke the user paints reaches the workers as it
reaches the store. Batches come back through shared-memory slots, in the order they were
asked for; batch ``n`` is drawn from its own seed (`inkloop.train._seeds.batch_generator`), as
a `BatchStream`'s is, so a seeded run draws the same batches whatever makes them. Workers
import numpy and the readers, not torch (the first batch arrives about a second after the
start on two cores), and they are spawned, never forked: the parent holds torch's threads and
a CUDA context.
"""

from __future__ import annotations

import collections
import multiprocessing
import pickle
import queue
import shutil
import signal
import time
import weakref
from collections.abc import Callable

import numpy as np

from inkloop._cpus import usable_cpus
from inkloop._spawn import ignore_ctrl_c, start_spawned
from inkloop.train._sampler import (
    WAIT_SLICE_S,
    Batch,
    BatchStream,
    PatchSampler,
    WaitInterruptedError,
)
from inkloop.train._seeds import batch_generator
from inkloop.train._shared import SharedArrays

SLOTS_PER_WORKER = 2  # batches in flight per worker: one being made, one waiting
_POLL_S = 1.0  # how often an idle worker checks that its parent is still there
_CLOSE_S = 5.0  # how long close() waits for all workers to end before it ends them
SHM_HEADROOM = 1.25  # shared memory free per byte the workers take (others use it too)


class WorkerError(RuntimeError):
    """A batch worker process ended without being asked to."""


class ProcessBatchStream:
    """`BatchStream`'s contract (``next``, ``close``, ``batch_size``, ``sampler``) with the
    batches made by ``workers`` processes.

    A returned batch lives in shared memory until the next call of ``next``: copy (or move
    to the device) what must outlast it.
    """

    def __init__(
        self,
        sampler: PatchSampler,
        batch_size: int,
        *,
        workers: int,
        seed: int = 0,
        opening: int = 0,
    ):
        context = multiprocessing.get_context("spawn")
        sampler.labels.share(context)
        self.sampler, self.batch_size = sampler, batch_size
        self.maker = f"{workers} worker process{'es' if workers > 1 else ''}"  # for messages
        self._slots = SharedArrays(_slot_layout(sampler, batch_size, workers * SLOTS_PER_WORKER))
        self._tasks = context.Queue()
        self._results = context.Queue()
        self._pending: collections.deque = collections.deque()  # (number, slot), oldest first
        self._arrived: dict[int, tuple] = {}
        self._lent: int | None = None  # the slot the last batch returned lives in
        self._number = 0
        self._workers = [
            context.Process(
                target=_work,
                args=(sampler, self._slots, self._tasks, self._results, seed, opening),
                name=f"inkloop-batches-{index}",
                daemon=True,
            )
            for index in range(workers)
        ]
        # a stream dropped without close() still stops its workers
        self._shutdown = weakref.finalize(
            self, _shutdown, self._workers, self._tasks, self._results, self._slots
        )
        try:
            for worker in self._workers:
                start_spawned(worker)
        except BaseException:
            self.close()
            raise
        for slot in range(len(self._slots["ink"])):
            self._ask(slot)

    def next(self, interrupt: Callable[[], bool] | None = None) -> Batch:
        """The next batch cut from the current labels (re-raises a worker's error);
        ``interrupt`` as `BatchStream.next`'s."""
        while True:
            if self._lent is not None:
                self._ask(self._lent)
                self._lent = None
            number, slot = self._pending[0]
            self._wait(number, interrupt)  # WaitInterruptedError: still pending, the next call's
            self._pending.popleft()
            self._lent = slot  # asked again at the next call, whatever this one brings
            version, size = self._result(number)
            if version == self.sampler.labels.version:
                size = min(size, self.batch_size)
                layers, ink, weight = (self._slots[key][slot, :size] for key in _KEYS)
                return Batch(layers, ink, weight, version)

    def close(self) -> None:
        """Stop the workers and free the slots (idempotent)."""
        self._shutdown()

    def _ask(self, slot: int) -> None:
        size = min(self.batch_size, self._slots["ink"].shape[1])  # the size may only go down
        self._tasks.put((self._number, slot, size))
        self._pending.append((self._number, slot))
        self._number += 1

    def _wait(self, number: int, interrupt: Callable[[], bool] | None) -> None:
        """Until batch ``number`` arrived; WaitInterruptedError if ``interrupt()`` says so first."""
        while number not in self._arrived:
            try:
                done, *result = self._results.get(timeout=WAIT_SLICE_S)
            except queue.Empty:
                self._check_alive()
                if interrupt is not None and interrupt():
                    raise WaitInterruptedError from None
                continue
            self._arrived[done] = result

    def _result(self, number: int) -> tuple[int, int]:
        """Arrived batch ``number``'s label version and size; raises its worker's error unless
        the labels changed since (a stroke painted over an empty store is no error)."""
        version, size, error = self._arrived.pop(number)
        if error is not None and version == self.sampler.labels.version:
            raise error
        return version, size

    def _check_alive(self) -> None:
        for worker in self._workers:
            if not worker.is_alive():
                self.close()
                raise WorkerError(
                    f"a batch worker process ended (exit code {worker.exitcode}): "
                    "training cannot go on; see the log above for why"
                )


_KEYS = ("layers", "ink", "weight")


def _slot_layout(sampler: PatchSampler, batch_size: int, slots: int) -> dict:
    depth = sampler.composition.z_count + 2 * sampler.z_margin
    size = sampler.patch_size
    return {
        "layers": ((slots, batch_size, depth, size, size), "float32"),
        "ink": ((slots, batch_size, size, size), "float32"),
        "weight": ((slots, batch_size, size, size), "bool"),
    }


def loader_workers(config, device_type: str) -> int:
    """The worker processes a TrainConfig asks for on ``device_type`` (None: `auto_workers`)."""
    return auto_workers(device_type) if config.loader_workers is None else config.loader_workers


def open_stream(sampler: PatchSampler, batch_size: int, config, device_type: str, opening: int = 0):
    """The batch stream a TrainConfig asks for: a `ProcessBatchStream` of as many of the
    workers it asks for as shared memory has room for, else a `BatchStream` of its loader
    threads; and a notice saying so, when shared memory had room for fewer. ``opening``
    tells this stream from the run's others (`inkloop.train._seeds.first_opening`, plus the
    streams opened before it)."""
    asked, seed = loader_workers(config, device_type), config.seed
    workers, free = asked, shared_memory_free()
    while (
        workers
        and free is not None
        and free < SHM_HEADROOM * shared_bytes(sampler, batch_size, workers)
    ):
        workers -= 1
    if workers:
        stream = ProcessBatchStream(
            sampler, batch_size, workers=workers, seed=seed, opening=opening
        )
    else:
        threads = config.loader_threads
        stream = BatchStream(sampler, batch_size, threads=threads, seed=seed, opening=opening)
    notice = None
    if workers < asked:
        notice = (
            f"batches come from {stream.maker} rather than {asked} worker processes: shared "
            f"memory (/dev/shm) has {free >> 20} MB free, {asked} would need "
            f"{shared_bytes(sampler, batch_size, asked) >> 20} MB "
            "(a container can be given more with --shm-size)"
        )
    return stream, notice


def auto_workers(device_type: str, cpus: int | None = None) -> int:
    """Batch worker processes by default: none on a CPU, where the step needs every core and
    one loader thread keeps up; on a GPU one per two cores beyond two, at most 4 (a worker
    makes ~300 batches of 8 x 64² a second), none with under 6 cores."""
    cpus = cpus or usable_cpus()
    if device_type != "cuda" or cpus < 6:
        return 0
    return min(4, (cpus - 2) // 2)


def shared_bytes(sampler: PatchSampler, batch_size: int, workers: int) -> int:
    """Shared memory a `ProcessBatchStream` takes: its slots and the labels (3 bytes a pixel)."""
    layout = _slot_layout(sampler, batch_size, workers * SLOTS_PER_WORKER)
    slots = sum(int(np.prod(shape)) * np.dtype(dtype).itemsize for shape, dtype in layout.values())
    return slots + 3 * int(np.prod(sampler.labels.shape))


def shared_memory_free() -> int | None:
    """Bytes free for shared memory (``/dev/shm`` on Linux), or None where unknown: a
    container's 64 MB default there is a common reason to stay with threads."""
    try:
        return shutil.disk_usage("/dev/shm").free
    except OSError:
        return None


def _work(
    sampler: PatchSampler, slots: SharedArrays, tasks, results, seed: int, opening: int
) -> None:
    """A worker: fill the slot of each task (number, slot, size) until it gets None."""
    # Ctrl+C is the parent's to handle, and so is SIGTERM, which a batch system sends to every
    # process of a job at its time limit: the parent saves its run and ends the workers
    ignore_ctrl_c()
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    parent = multiprocessing.parent_process()
    while True:
        try:
            task = tasks.get(timeout=_POLL_S)
        except queue.Empty:
            if parent.is_alive():
                continue
            return  # the parent was killed: nobody will ask again
        if task is None:
            return
        number, slot, size = task
        version = sampler.labels.version
        try:
            batch = sampler.batch(size, batch_generator(seed, opening, number))
            for key, array in zip(_KEYS, (batch.layers, batch.ink, batch.weight), strict=True):
                slots[key][slot, :size] = array
            results.put((number, batch.label_version, size, None))
        except Exception as error:  # the parent raises it where it waits for this batch
            results.put((number, version, 0, _portable(error)))


def _shutdown(workers: list, tasks, results, slots: SharedArrays) -> None:
    """Ask ``workers`` to end, end the ones still busy after a few seconds, free the slots."""
    started = [worker for worker in workers if worker.pid is not None]
    for _ in started:
        tasks.put(None)
    deadline = time.monotonic() + _CLOSE_S
    for worker in started:
        worker.join(timeout=max(0.0, deadline - time.monotonic()))
    for worker in started:
        if worker.is_alive():  # stuck in a read: it holds nothing the parent needs
            worker.kill()  # it ignores SIGTERM
            worker.join()
    workers.clear()
    for channel in (tasks, results):
        channel.cancel_join_thread()  # what is left in them is of no use to anyone
        channel.close()
    slots.unlink()


def _portable(error: Exception) -> Exception:
    """``error``, or a RuntimeError naming it where it would not arrive whole in the parent."""
    try:
        pickle.loads(pickle.dumps(error))
        return error
    except Exception:
        return RuntimeError(f"{type(error).__name__}: {error}")
