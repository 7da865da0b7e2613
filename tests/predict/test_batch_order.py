"""A batch on a cluster finishes its segments roughly in the order given (the first one's
chunks all stored before the last one's first), so a run stopped part way keeps most of the
segments it finished (each is finished as its last chunk is stored)."""

from __future__ import annotations

import threading

import pytest

from inkloop.synthetic import write_segment
from tests._helpers import save_tiny_checkpoint

distributed = pytest.importorskip("distributed")

STORED: list = []  # the keys of the chunks stored, in order (the worker runs in this process)
STAGED = threading.Event()  # every segment is staged: the worker may begin


def _held() -> None:
    """Keeps the worker's one thread until every segment's blocks wait, so that the order
    they run in is the scheduler's choice, not which was staged first."""
    assert STAGED.wait(60)


class _StoredInOrder(distributed.WorkerPlugin):
    """A worker plugin recording each stored chunk's key as its task finishes (defined at
    module level: it travels by reference, so the list is this one)."""

    def transition(self, key, start, finish, **kwargs):
        if finish == "memory" and str(key[0]).startswith("_store_chunk"):  # not fused
            STORED.append(key)


def test_segments_are_stored_one_after_another_in_their_order(tmp_path, monkeypatch):
    from distributed import Client, LocalCluster

    from inkloop.predict import _batch
    from inkloop.predict.batch import plan_jobs, predict_jobs

    def staged(client, checkpoint, weights, job, *args):
        staged = real(client, checkpoint, weights, job, *args)
        segment_of.update({key[0]: names.index(job.segment.name) for key in staged[1]})
        if job.segment.name == names[-1]:
            STAGED.set()
        return staged

    real, segment_of = _batch._staged, {}  # by the name of a segment's chunk keys
    monkeypatch.setattr(_batch, "_staged", staged)

    names = "abcd"
    for seed, name in enumerate(names):  # 3 chunks and 2 blocks each
        write_segment(tmp_path / name, 64, 2100, 8, seed=seed)
    model = save_tiny_checkpoint(tmp_path / "model.pt")
    jobs, _ = plan_jobs([tmp_path / n for n in names], tmp_path / "out", "zarr")
    STORED.clear()
    STAGED.clear()
    options = {"n_workers": 1, "threads_per_worker": 1, "dashboard_address": None}
    with LocalCluster(processes=False, **options) as cluster, Client(cluster) as client:
        client.register_plugin(_StoredInOrder(), name="stored-in-order")
        client.submit(_held, pure=False)
        written = predict_jobs(model, jobs, client, device="cpu", progress=False)
    order = [segment_of[key[0]] for key in STORED]  # 0: the first segment given, 3 the last
    assert len(order) == 3 * len(names)
    assert max(i for i, s in enumerate(order) if s == 0) < order.index(len(names) - 1), order
    assert sorted(written) == sorted(job.out for job in jobs)  # told as each ends: any order
