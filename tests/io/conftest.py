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
