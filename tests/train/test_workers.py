"""Batches made in worker processes: seeded, fed by the live labels, errors and deaths told."""

from __future__ import annotations

import gc
import multiprocessing
import os
import pickle
import signal
import threading
from multiprocessing import shared_memory

import numpy as np
import pytest
import torch

from inkloop.train import (
    BatchStream,
    LabelError,
    LabelStore,
    PatchSampler,
    ProcessBatchStream,
    Trainer,
    WorkerError,
    auto_workers,
)
from inkloop.train._shared import SharedArrays
from inkloop.train._workers import (
    SHM_HEADROOM,
    SLOTS_PER_WORKER,
    _portable,
    open_stream,
    shared_bytes,
)
from tests._helpers import posix_only, read_labels_when_told, tiny_model, tiny_training


def _sampler(parts) -> PatchSampler:
    segment, labels, composition, normalisation = parts
    return PatchSampler(segment, composition, normalisation, labels, patch_size=32, z_margin=1)


def _first_batches(stream, count: int = 3) -> list[np.ndarray]:
    try:
        return [stream.next().layers.copy() for _ in range(count)]
    finally:
        stream.close()


def test_batches_repeat_with_the_seed_whatever_makes_them(parts):
    sampler = _sampler(parts)
    thread = _first_batches(BatchStream(sampler, 4, seed=5))
    assert thread[0].shape == (4, sampler.composition.z_count + 2, 32, 32)
    for maker, count in ((BatchStream, {"threads": 2}), (ProcessBatchStream, {"workers": 1}),
                         (ProcessBatchStream, {"workers": 2})):  # fmt: skip
        same = _first_batches(maker(sampler, 4, seed=5, **count))
        assert all(np.array_equal(a, b) for a, b in zip(thread, same, strict=True)), count
    other = _first_batches(BatchStream(sampler, 4, seed=6))
    assert not np.array_equal(thread[0], other[0])


def test_an_error_is_raised_where_its_batch_is_awaited_and_new_labels_go_on(parts, make_stream):
    sampler = _sampler(parts)
    labels = sampler.labels
    ink, supervised = labels.ink.copy(), labels.supervised.copy()
    stream = make_stream(sampler, 4, 1)
    try:
        assert stream.next().weight[:, 16, 16].all()  # centres are labelled pixels
        nothing = np.zeros(labels.shape, np.uint8), np.zeros(labels.shape, bool)
        labels.update(*nothing, (0, 0, *labels.shape))
        with pytest.raises(LabelError, match="no labelled pixels left"):
            stream.next()
        labels.update(ink, supervised, (0, 0, *labels.shape))  # painted again
        for _ in range(2 * SLOTS_PER_WORKER + 1):  # every slot goes round again
            assert stream.next().label_version == labels.version
    finally:
        stream.close()


@posix_only("SIGKILL, and the exit code -9 it gives")
def test_a_worker_that_dies_is_reported(parts):
    stream = ProcessBatchStream(_sampler(parts), 4, workers=1)
    stream.next()
    (worker,) = [p for p in multiprocessing.active_children() if p.name == "inkloop-batches-0"]
    os.kill(worker.pid, signal.SIGKILL)
    with pytest.raises(WorkerError, match=f"exit code -{signal.SIGKILL}"):
        _take_all(stream)
    stream.close()  # already closed by the error: a second close does nothing
    assert not _batch_workers()


def _batch_workers() -> list:
    """This process's batch workers: not any inkloop child (an engine child of an earlier
    test in this process may still be ending)."""
    return [p for p in multiprocessing.active_children() if p.name.startswith("inkloop-batches")]


def _take_all(stream) -> None:
    """Take what the workers made before the one worker died, then wait for the next."""
    for _ in range(SLOTS_PER_WORKER + 1):
        stream.next()


def test_a_process_spawned_with_a_shared_label_store_sees_its_updates():
    ink, supervised = np.zeros((64, 96), np.uint8), np.ones((64, 96), bool)
    store = LabelStore(ink, supervised)
    with pytest.raises(TypeError, match="share"):
        pickle.dumps(store)
    context = multiprocessing.get_context("spawn")
    store.share(context)
    ready, go, out = context.Event(), context.Event(), context.Queue()
    reader = context.Process(target=read_labels_when_told, args=(store, ready, go, out))
    reader.start()
    try:
        assert ready.wait(timeout=60)
        store.update(np.full((8, 8), 255, np.uint8), np.ones((8, 8), bool), (8, 16, 16, 24))
        go.set()
        assert out.get(timeout=60) == (1, 255, 64 / (64 * 96))
    finally:
        reader.join(timeout=60)


def test_a_shared_store_still_writes_its_updates_into_the_arrays_it_was_given(tmp_path):
    np.save(tmp_path / "ink.npy", np.zeros((64, 96), np.uint8))
    np.save(tmp_path / "supervised.npy", np.ones((64, 96), bool))
    mapped = [np.load(tmp_path / f"{name}.npy", mmap_mode="r+") for name in ("ink", "supervised")]
    store = LabelStore(*mapped)  # as the engine's child builds it on its label files
    store.share(multiprocessing.get_context("spawn"))
    store.update(np.full((4, 4), 255, np.uint8), np.zeros((4, 4), bool), (0, 0, 4, 4))
    # what a respawned child would start from
    assert np.load(tmp_path / "ink.npy")[:4, :4].min() == 255
    assert not np.load(tmp_path / "supervised.npy")[:4, :4].any()


def test_a_worker_error_that_cannot_cross_arrives_as_its_message():
    assert _portable(ValueError("bad patch")).args == ("bad patch",)
    error = ValueError("a read failed")
    error.handle = threading.Lock()  # what an error from a reader may hold: not picklable
    portable = _portable(error)
    assert type(portable) is RuntimeError
    assert str(portable) == "ValueError: a read failed"


def test_a_stream_dropped_without_closing_stops_its_workers(parts):
    stream = ProcessBatchStream(_sampler(parts), 4, workers=1)
    stream.next()
    del stream
    gc.collect()
    assert not _batch_workers()


def test_shared_arrays_outlive_their_block_and_its_name_goes_on_unlink():
    shared = SharedArrays.holding({"a": np.arange(10.0), "b": np.ones((3, 3), bool)})
    name, a = shared.__getstate__()["name"], shared["a"]
    attached = pickle.loads(pickle.dumps(shared))
    attached["a"][0] = 42.0
    assert a[0] == 42.0
    shared.unlink()
    with pytest.raises(FileNotFoundError):
        shared_memory.SharedMemory(name=name)
    del shared, attached
    gc.collect()
    assert a.sum() == 42.0 + sum(range(1, 10))  # the pages stay while a view holds them


def test_training_repeats_with_the_seed_whatever_makes_the_batches(parts):
    runs = []
    for workers in (0, 1):  # a thread, a worker process (1 or 2: the same batches, above)
        config = tiny_training(seed=3, max_steps=3, loader_workers=workers)
        trainer = Trainer(*parts, config, model_config=tiny_model())
        assert len(_batch_workers()) == workers  # at once: ready by the first step
        maker = ProcessBatchStream if workers else BatchStream
        assert isinstance(trainer.batches(), maker)
        losses = []
        while not trainer.finished:
            result = trainer.step()
            assert result.notice is None
            losses.append(result.loss)
        trainer.close()
        runs.append((losses, list(trainer.model.state_dict().values())))
    (thread_losses, thread_weights), (losses, weights) = runs
    assert losses == thread_losses
    assert all(torch.equal(a, b) for a, b in zip(weights, thread_weights, strict=True))


def test_with_room_for_one_worker_in_shared_memory_one_makes_the_batches(parts, monkeypatch):
    sampler = _sampler(parts)
    room = int(SHM_HEADROOM * shared_bytes(sampler, 4, 1)) + 1  # one fits, two do not
    monkeypatch.setattr("inkloop.train._workers.shared_memory_free", lambda: room)
    config = tiny_training(batch_size=4, loader_workers=2)
    stream, notice = open_stream(sampler, 4, config, "cpu")
    try:
        assert isinstance(stream, ProcessBatchStream)
        assert stream.maker == "1 worker process"
        assert notice.startswith("batches come from 1 worker process rather than 2")
        assert stream.next().layers.shape[0] == 4
    finally:
        stream.close()


def test_without_room_in_shared_memory_batches_come_from_a_thread(parts, monkeypatch):
    monkeypatch.setattr("inkloop.train._workers.shared_memory_free", lambda: 1 << 10)
    trainer = Trainer(*parts, tiny_training(loader_workers=2), model_config=tiny_model())
    try:
        notice = trainer.step().notice
        assert isinstance(trainer.batches(), BatchStream)
        assert notice.startswith("batches come from a thread rather than 2 worker processes")
        assert "shared memory (/dev/shm) has 0 MB free" in notice
        assert trainer.step().notice is None  # told once
    finally:
        trainer.close()


def test_worker_processes_by_default_only_for_a_gpu_with_cores_to_spare():
    assert auto_workers("cpu", cpus=64) == 0
    assert auto_workers("cuda", cpus=4) == 0
    assert auto_workers("cuda", cpus=8) == 3
    assert auto_workers("cuda", cpus=16) == 4
