"""The wait for running stores on Ctrl+C or SIGTERM is bounded even when a worker does
not answer (stopped, swapping, cut off): the outputs are then removed anyway."""

from __future__ import annotations

import os
import signal
import threading

import pytest

pytest.importorskip("distributed")


def test_the_wait_for_stores_ends_when_a_worker_does_not_answer(monkeypatch):
    from distributed import Client, LocalCluster

    from inkloop.predict import _workers

    monkeypatch.setattr(_workers, "STORES_WAITED_S", 0.5)
    options = {"n_workers": 1, "threads_per_worker": 1, "dashboard_address": None}
    with LocalCluster(host="127.0.0.1", **options) as cluster, Client(cluster) as client:
        store = client.submit(int, 1, key="finish_block-abc-store-xyz")
        store.result()
        (pid,) = client.run(os.getpid).values()
        os.kill(pid, signal.SIGSTOP)  # the worker answers no request
        try:
            waiting = threading.Thread(target=_workers.cancel_and_wait, args=(client, [store]))
            waiting.start()
            waiting.join(timeout=30)  # generous: the bound asked for is 0.5 s
            assert not waiting.is_alive(), "cancel_and_wait still waits on the stopped worker"
        finally:
            os.kill(pid, signal.SIGCONT)
            waiting.join()
