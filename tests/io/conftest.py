"""The io tests' shared fixtures."""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def data_home(tmp_path, monkeypatch):
    """Where remote segments' local folders go (never the user's own)."""
    monkeypatch.setenv("INKLOOP_DATA", str(tmp_path / "home"))
    return tmp_path / "home"
