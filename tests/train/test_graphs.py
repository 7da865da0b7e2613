"""CUDA graph recording, as far as a CPU can check it (the GPU runs: tests/test_gpu.py)."""

from __future__ import annotations

import contextlib

import pytest
import torch

from inkloop.train._graphs import GraphedForward


def test_graphs_are_recorded_on_the_inputs_gpu_not_the_current_one(monkeypatch):
    current = ["cuda:0"]

    @contextlib.contextmanager
    def on(device):
        current.append(device)
        yield
        current.pop()

    def record(model, _sample):
        recorded_on.append(current[-1])
        model.forward = model.__class__.forward.__get__(model)  # as torch sets it
        return model

    recorded_on = []
    monkeypatch.setattr(torch.cuda, "device", on)
    monkeypatch.setattr(torch.cuda, "make_graphed_callables", record)
    inputs = torch.zeros(2, 3, device="meta")  # stands in for a tensor on cuda:1
    model = torch.nn.Sequential(torch.nn.Linear(3, 3), torch.nn.BatchNorm1d(3)).to("meta")
    GraphedForward(model, None)(inputs)
    assert recorded_on == [inputs.device]


@pytest.mark.parametrize(
    ("cause", "out_of_memory"),
    [
        (torch.OutOfMemoryError("CUDA out of memory"), True),
        (RuntimeError("cuDNN error: CUDNN_STATUS_ALLOC_FAILED"), True),
        (RuntimeError("cuDNN error: CUDNN_STATUS_NOT_SUPPORTED"), False),
    ],
    ids=["torch's allocator", "cuDNN's", "no memory error"],
)
def test_a_capture_failed_for_memory_raises_that_error(monkeypatch, cause, out_of_memory):
    def record(_model, _sample):
        raise RuntimeError("operation failed due to a previous error during capture") from cause

    monkeypatch.setattr(torch.cuda, "device", lambda _device: contextlib.nullcontext())
    monkeypatch.setattr(torch.cuda, "make_graphed_callables", record)
    model = torch.nn.Sequential(torch.nn.Linear(3, 3), torch.nn.BatchNorm1d(3)).to("meta")
    with pytest.raises(RuntimeError) as failed:
        GraphedForward(model, None)(torch.zeros(2, 3, device="meta"))
    if out_of_memory:
        assert failed.value is cause  # what the training step halves its batch on
    else:
        assert str(failed.value).startswith("operation failed")  # the capture's, as it is
