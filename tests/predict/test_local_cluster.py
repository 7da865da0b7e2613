"""A local cluster (`--scheduler local:N`): each worker may use its share of the memory."""

from __future__ import annotations

import pytest

pytest.importorskip("distributed")


def test_a_cpu_worker_may_use_its_share_of_the_memory_not_of_the_cores():
    """distributed's "auto" limit is the memory's share of the worker's one thread: 1/cores
    of it, paused at 80% and killed at 95%, for the only worker of local:1 on a big node."""
    from distributed.system import MEMORY_LIMIT

    from inkloop.predict.batch import cluster_client

    with cluster_client("local:1", device="cpu") as client:
        workers = client.scheduler_info(n_workers=-1)["workers"].values()
        limits = [worker["memory_limit"] for worker in workers]
    assert limits == [MEMORY_LIMIT]
