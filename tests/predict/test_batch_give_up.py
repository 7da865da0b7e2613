"""A segment given up on a cluster (--keep-going, or a stopped run) has its staged output
removed only once none of its chunks is still being stored: a cancel does not stop a running
store, which would write into the folder being removed. One given up as a Ctrl-C comes is
in the outcome's failed ones all the same."""

from __future__ import annotations

import threading

import pytest

from inkloop.predict import _outputs
from inkloop.synthetic import write_segment
from tests._helpers import save_tiny_checkpoint

distributed = pytest.importorskip("distributed")

STARTED = threading.Event()  # the first chunk's store runs
CANCELLED = threading.Event()  # the worker (in this process) was told a running task is off
EVENTS: list[str] = []
_STORE = _outputs._store_chunk


class _CancelSeen(distributed.WorkerPlugin):
    """A worker plugin setting CANCELLED as a running task is cancelled (defined at module
    level: it travels by reference, so the Event is this one)."""

    def transition(self, key, start, finish, **kwargs):
        if start == "executing" and finish == "released":  # it goes on, cancelled
            CANCELLED.set()


def _store_until_cancelled(block, target, block_info=None):
    """The second chunk fails while the first runs, which is stored once the worker was told
    it is cancelled."""
    if block_info[0]["array-location"][1][0] > 0:
        assert STARTED.wait(30)
        raise OSError(5, "Input/output error")  # this segment's alone (a full disk stops all)
    STARTED.set()
    assert CANCELLED.wait(30)
    stored = _STORE(block, target, block_info)
    EVENTS.append("stored")
    return stored


def test_a_failed_segment_is_removed_after_its_running_stores(tmp_path, monkeypatch):
    from distributed import Client, LocalCluster

    from inkloop.predict.batch import Outcome, plan_jobs, predict_jobs

    write_segment(tmp_path / "a", 64, 1100, 8, seed=0)  # 2 chunks, stored side by side
    model = save_tiny_checkpoint(tmp_path / "model.pt")
    jobs, _ = plan_jobs([tmp_path / "a"], tmp_path / "out", "zarr")
    monkeypatch.setattr(_outputs, "_store_chunk", _store_until_cancelled)
    abandon = _outputs.PredictionFile.abandon

    def abandoned(output):
        EVENTS.append("removed")
        abandon(output)

    monkeypatch.setattr(_outputs.PredictionFile, "abandon", abandoned)
    STARTED.clear()
    CANCELLED.clear()
    EVENTS.clear()
    outcome = Outcome()
    options = {"n_workers": 1, "threads_per_worker": 2, "dashboard_address": None}
    with LocalCluster(processes=False, **options) as cluster, Client(cluster) as client:
        client.register_plugin(_CancelSeen(), name="cancel-seen")
        with pytest.warns(match="going on with the other segments"):
            predict_jobs(model, jobs, client, device="cpu", progress=False, keep_going=True,
                         outcome=outcome)  # fmt: skip
    assert EVENTS == ["stored", "removed"]
    assert [failed["out"] for failed in outcome.failed] == [str(jobs[0].out)]
    assert list((tmp_path / "out").iterdir()) == []


def _unreadable(block, target, block_info=None):
    raise OSError(5, "Input/output error")  # this segment's alone (a full disk stops all)


def test_a_segment_given_up_as_ctrl_c_comes_is_recorded_failed(tmp_path, monkeypatch, recwarn):
    """A Ctrl-C in the give-up (its wait for the running stores) keeps the segment's error
    in ``failed``: it is recorded before the give-up begins."""
    from distributed import Client, LocalCluster

    from inkloop.predict import _batch
    from inkloop.predict.batch import Outcome, plan_jobs, predict_jobs

    write_segment(tmp_path / "a", 64, 64, 8, seed=0)
    model = save_tiny_checkpoint(tmp_path / "model.pt")
    jobs, _ = plan_jobs([tmp_path / "a"], tmp_path / "out", "zarr")
    monkeypatch.setattr(_outputs, "_store_chunk", _unreadable)
    give_up = _batch._give_up

    def interrupted(client, staged, wait=True):
        give_up(client, staged, wait=False)  # its staged output removed, as a Ctrl-C leaves it
        raise KeyboardInterrupt

    monkeypatch.setattr(_batch, "_give_up", interrupted)
    outcome = Outcome()
    options = {"n_workers": 1, "threads_per_worker": 1, "dashboard_address": None}
    with (
        LocalCluster(processes=False, **options) as cluster,
        Client(cluster) as client,
        pytest.raises(KeyboardInterrupt),
    ):
        predict_jobs(model, jobs, client, device="cpu", progress=False, keep_going=True,
                     outcome=outcome)  # fmt: skip
    assert [failed["out"] for failed in outcome.failed] == [str(jobs[0].out)]
    assert "Input/output error" in outcome.failed[0]["error"]
    assert any("going on with the other segments" in str(w.message) for w in recwarn)
    assert list((tmp_path / "out").iterdir()) == []
