"""CUDA graph recording, as far as a CPU can check it (the GPU runs: tests/test_gpu.py)."""

from __future__ import annotations

import contextlib

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
