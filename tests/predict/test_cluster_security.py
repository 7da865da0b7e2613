"""A local cluster (`inkloop predict --scheduler local:N`) lets in only inkloop's own process
and the workers it starts: every account on the machine reaches 127.0.0.1, and a dask task
is a pickled function, so whoever connects runs code as the user."""

from __future__ import annotations

import asyncio
import os
import sys

import pytest

pytest.importorskip("distributed")


@pytest.fixture(scope="module")
def own_cluster():
    """A one-worker local cluster and inkloop's client of it, reached by its address."""
    from inkloop.predict.batch import cluster_client, local_cluster

    cluster = local_cluster(1, "cpu")
    try:
        with cluster_client(cluster.scheduler_address, device="cpu") as client:
            yield cluster, client
    finally:
        cluster.close()


def _strangers(address: str) -> list[tuple[str, object]]:
    """(address, security) of one who holds only the port: plain TCP, and TLS with
    credentials of their own."""
    from distributed import Security

    port = address.rsplit(":", 1)[1]
    return [(f"tcp://127.0.0.1:{port}", None), (f"tls://127.0.0.1:{port}", Security.temporary())]


def test_a_stranger_cannot_submit_to_a_local_cluster(own_cluster, tmp_path):
    from distributed import Client
    from distributed.comm import CommClosedError

    cluster, client = own_cluster
    ran = tmp_path / "ran"
    for address, security in _strangers(cluster.scheduler_address):
        with (
            pytest.raises(CommClosedError),  # at once: refused, not timed out
            Client(address, security=security, timeout="10s") as stranger,
        ):
            stranger.submit(ran.touch).result()
    assert not ran.exists()
    assert client.submit(os.getpid).result() > 0  # inkloop's own client still runs tasks


def test_a_stranger_cannot_reach_a_local_worker_or_its_nanny(own_cluster):
    from distributed.comm import CommClosedError
    from distributed.core import rpc

    _cluster, client = own_cluster
    ((worker_address, worker),) = client.scheduler_info()["workers"].items()
    assert worker["id"] == "inkloop-0"  # the spawned worker holds the credentials: it joined

    async def identity(address, security):
        args = security.get_connection_args("client") if security else {}
        async with rpc(address, timeout=10, connection_args=args) as remote:
            return await remote.identity()

    for listener in (worker_address, worker["nanny"]):
        for address, security in _strangers(listener):
            with pytest.raises(CommClosedError):
                asyncio.run(identity(address, security))


def test_a_local_cluster_listens_on_this_machine_only(own_cluster):
    import socket

    cluster, client = own_cluster
    ((worker_address, worker),) = client.scheduler_info()["workers"].items()
    listeners = [cluster.scheduler_address, worker_address, worker["nanny"]]
    assert all(address.startswith("tls://127.0.0.1:") for address in listeners), listeners
    for address in listeners:  # Linux routes all 127/8 here: only one bound to all takes it
        port = int(address.rsplit(":", 1)[1])
        with pytest.raises(ConnectionRefusedError):
            socket.create_connection(("127.0.0.2", port), timeout=10).close()


def test_a_local_cluster_without_cryptography_says_which_extra(monkeypatch):
    from inkloop.predict.batch import cluster_client

    monkeypatch.setitem(sys.modules, "cryptography", None)  # its import fails
    extra = r"needs cryptography.*pip install '\.\[cluster\]' in inkloop's clone"
    with pytest.raises(RuntimeError, match=extra), cluster_client("local:1", device="cpu"):
        pass


def test_a_tls_scheduler_without_credentials_is_refused_in_a_sentence():
    from inkloop.predict.batch import cluster_client

    with (
        pytest.raises(ValueError, match=r"distributed\.comm\.tls\.ca-file"),
        cluster_client("tls://127.0.0.1:9", device="cpu"),
    ):
        pass
