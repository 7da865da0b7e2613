"""`all_cores` in a process with a share of the machine (an engine server's engine) takes
that share, not every core: the training beside it shares the count."""

from __future__ import annotations

import pytest
import torch

from inkloop import _torch_threads
from inkloop._torch_threads import all_cores, share_cores


@pytest.fixture
def on_16_cores(monkeypatch):
    """This process on a 16-core machine, with no share yet; torch's count put back after."""
    before = torch.get_num_threads()
    monkeypatch.setattr(_torch_threads, "usable_cpus", lambda: 16)
    monkeypatch.setattr(_torch_threads, "_SHARE", [])
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def test_all_cores_takes_only_the_share_of_an_engine_given_one(on_16_cores):
    with all_cores():
        assert torch.get_num_threads() == 16  # a local engine: every core
    share_cores(3)
    with all_cores():
        assert torch.get_num_threads() == 3
    assert torch.get_num_threads() == 1
