"""Trainer: torch's CPU thread count taken while it trains and given back when it closes,
however many Trainers (and `all_cores` moments) overlap in one process."""

from __future__ import annotations

import threading

import pytest
import torch

from inkloop._cpus import usable_cpus
from inkloop._torch_threads import all_cores
from tests._helpers import tiny_trainer


@pytest.fixture
def users_count():
    """The user's own torch thread count, none of the Trainers' (1, 2) nor `all_cores`'; put
    back as it was after the test."""
    before, count = torch.get_num_threads(), max(3, usable_cpus() + 1)
    torch.set_num_threads(count)
    yield count
    torch.set_num_threads(before)


def _new_threads_torch_threads() -> int:
    """What a thread started now computes torch's CPU work with (torch's process default)."""
    counted = []
    thread = threading.Thread(target=lambda: counted.append(torch.get_num_threads()))
    thread.start()
    thread.join()
    return counted[0]


def test_a_trainer_with_threads_puts_torchs_thread_count_back_when_it_closes(parts):
    before = torch.get_num_threads()
    threads = 2 if before == 1 else 1
    try:
        with pytest.raises(ValueError, match="CUDA graphs need a CUDA device"):
            tiny_trainer(parts, threads=threads, cuda_graphs=True)
        assert torch.get_num_threads() == before  # refused settings take none
        trainer = tiny_trainer(parts, threads=threads)
        assert torch.get_num_threads() == threads
        trainer.close()
        assert (torch.get_num_threads(), _new_threads_torch_threads()) == (before, before)
        trainer.step()  # a step after a close trains with them again
        assert torch.get_num_threads() == threads
        trainer.close()
        assert (torch.get_num_threads(), _new_threads_torch_threads()) == (before, before)
    finally:
        torch.set_num_threads(before)


@pytest.mark.parametrize("first_closed", ["first opened", "last opened"])
def test_overlapping_trainers_closed_in_any_order_give_the_users_count_back(
    parts, users_count, first_closed
):
    trainers = {1: tiny_trainer(parts, threads=1), 2: tiny_trainer(parts, threads=2)}
    assert torch.get_num_threads() == 2
    closed, still_open = (1, 2) if first_closed == "first opened" else (2, 1)
    trainers[closed].close()
    assert torch.get_num_threads() == still_open  # the one still open keeps its count
    trainers[still_open].step()
    assert torch.get_num_threads() == still_open
    trainers[still_open].close()
    assert (torch.get_num_threads(), _new_threads_torch_threads()) == (users_count,) * 2


def test_a_trainer_closing_during_all_cores_leaves_all_cores_then_the_users_count(
    parts, users_count
):
    trainer = tiny_trainer(parts, threads=1)  # another engine's, in the same process
    with all_cores():
        assert torch.get_num_threads() == max(1, usable_cpus())
        trainer.close()
        assert torch.get_num_threads() == max(1, usable_cpus())
    assert torch.get_num_threads() == users_count
