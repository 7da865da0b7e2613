"""The io tests' shared fixtures."""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def data_home(tmp_path, monkeypatch):
    """Where remote segments' local folders go (never the user's own)."""
    monkeypatch.setenv("INKLOOP_DATA", str(tmp_path / "home"))
    return tmp_path / "home"


@pytest.fixture(autouse=True)
def quick_retries(monkeypatch):
    """Reads a test server fails are tried again at once: the pauses are for real servers."""
    try:
        from inkloop.io import _remote_store
    except ImportError:  # no zarr 3 / aiohttp: nothing is read over HTTP
        return
    monkeypatch.setattr(_remote_store, "RETRY_PAUSES_S", (0.0, 0.0, 0.0))


@pytest.fixture(scope="module")
def served_segment(tmp_path_factory, synthetic):
    """``synthetic`` served on 127.0.0.1 as a data server lays a segment out
    (`tests._http.write_served_segment`): (the URL of its zarr, the server, the volume)."""
    from tests._http import NAME, serve, write_served_segment

    root = tmp_path_factory.mktemp("served")
    volume = write_served_segment(root, NAME, synthetic)
    with serve(root) as (base, server):
        yield f"{base}/{NAME}.zarr", server, volume
