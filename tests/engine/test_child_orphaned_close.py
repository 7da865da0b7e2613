"""An engine process whose parent died closes its engine with a deadline: a read a server
never finishes does not keep it alive for ever (review R2, finding 10)."""

from __future__ import annotations

import pytest

from inkloop.engine import _child


class _Engine:
    """An engine whose close ends its work, or not (stuck in a read)."""

    def __init__(self, ends: bool) -> None:
        self.ends, self.timeouts = ends, []

    def close(self, timeout=None) -> bool:
        self.timeouts.append(timeout)
        return self.ends


@pytest.fixture
def exits(monkeypatch) -> list:
    """The status of each os._exit the child calls, which returns here."""
    called: list = []
    monkeypatch.setattr(_child.os, "_exit", called.append)
    return called


def test_an_orphaned_child_exits_when_its_engine_does_not_stop_in_time(tmp_path, exits, caplog):
    engine, labels = _Engine(ends=False), tmp_path / "labels"
    labels.mkdir()

    _child._end(engine, orphaned=True, labels=labels)

    assert engine.timeouts == [_child.CLOSE_TIMEOUT]
    assert exits == [1]
    assert not labels.exists()
    assert "its parent is gone" in caplog.text


@pytest.mark.parametrize("orphaned", [True, False])
def test_a_child_whose_engine_stops_ends_as_before(tmp_path, exits, orphaned):
    engine, labels = _Engine(ends=True), tmp_path / "labels"
    labels.mkdir()

    _child._end(engine, orphaned=orphaned, labels=labels)

    assert engine.timeouts == [_child.CLOSE_TIMEOUT if orphaned else None]
    assert exits == []
    assert labels.exists() is not orphaned  # a closing parent removes them itself
