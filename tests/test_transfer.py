"""Host arrays onto a device: only a copy to CUDA runs ahead of the host."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from inkloop._transfer import copies_ahead, to_device


@pytest.mark.parametrize(
    ("device", "ahead"),
    [
        ("cuda", True),
        ("cuda:1", True),
        (torch.device("cuda", 0), True),
        # a non-blocking copy to these may read its source after it was freed
        ("mps", False),
        ("xpu", False),
        ("cpu", False),
    ],
    ids=str,
)
def test_only_a_copy_to_cuda_may_run_ahead_of_the_host(device, ahead):
    assert copies_ahead(device) is ahead


def test_an_augmentation_copy_waits_for_its_source_except_on_cuda(monkeypatch):
    copies = []

    def to(tensor, device, non_blocking=False):  # no MPS or CUDA here: what was asked for
        copies.append((str(device), non_blocking))
        return tensor

    monkeypatch.setattr(torch.Tensor, "to", to)
    for device in ("mps", "cuda", torch.device("cpu")):
        to_device(np.arange(3), device)
    assert copies == [("mps", False), ("cuda", True), ("cpu", False)]
