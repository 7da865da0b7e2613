"""Tracing a model for prediction beside other threads' forward passes: a dask worker's
threads load one block's model (tracing it) while others predict."""

from __future__ import annotations

import pickle
import threading

import torch

from inkloop.model import build_model
from inkloop.predict import inference_graph
from inkloop.predict._tracing import ThreadBoundTracer, symbolic_trace
from inkloop.predict._travel import TravellingModel
from tests._helpers import tiny_model


class _RunsSomethingAsItIsTraced(torch.nn.Module):
    def __init__(self, something) -> None:
        super().__init__()
        self.conv, self.something = torch.nn.Conv2d(1, 1, 3), something

    def forward(self, x):
        self.something()  # plain Python: runs while it is traced, with Module.__call__ patched
        return self.conv(x)


def test_another_threads_forward_pass_runs_while_a_model_is_traced():
    """Before, the other thread's pass was taken for part of the trace and failed with
    NameError "module is not installed as a submodule"."""
    elsewhere = torch.nn.Sequential(torch.nn.Conv2d(1, 2, 3), torch.nn.ReLU())
    inputs = torch.rand(1, 1, 8, 8)
    expected, outcome = elsewhere(inputs), {}

    def forward_on_another_thread():
        def run():
            try:
                outcome["output"] = elsewhere(inputs)
            except Exception as error:
                outcome["error"] = error

        thread = threading.Thread(target=run)
        thread.start()
        thread.join()

    graph = symbolic_trace(_RunsSomethingAsItIsTraced(forward_on_another_thread))
    assert "error" not in outcome, outcome
    torch.testing.assert_close(outcome["output"], expected)
    assert [node.target for node in graph.graph.nodes if node.op == "call_module"] == ["conv"]


def test_a_model_travels_with_its_graph_traced_again_by_the_same_tracer():
    """A pickled GraphModule is traced again as it is unpickled: with the tracer class it was
    traced with, which lets other threads' passes through, and only when first used."""
    torch.manual_seed(0)
    model = build_model(tiny_model()).eval()
    graph = inference_graph(model)
    assert graph._tracer_cls is ThreadBoundTracer
    arrived = pickle.loads(pickle.dumps(TravellingModel(graph, "cpu", None)))
    assert isinstance(arrived._model, bytes)  # not unpickled in whatever thread dask uses
    assert issubclass(arrived.model._tracer_cls, ThreadBoundTracer)
    inputs = torch.rand(1, model.encoder._in_channels, 64, 64)
    with torch.inference_mode():
        torch.testing.assert_close(arrived.model(inputs), model(inputs), atol=1e-4, rtol=1e-4)
