"""torch.fx tracing that other threads' forward passes can run beside.

While any fx tracer runs, ``torch.nn.Module.__call__`` and ``__getattr__`` are patched for the
whole process. The stock Tracer takes another thread's forward pass for part of its own trace
and fails it ("module is not installed as a submodule"), and two traces at once corrupt fx's
stack of patchers: in a dask worker's threads one block's model is traced (loaded from its
checkpoint, or a GraphModule unpickled, which traces it again) while others predict. Here
only the tracing thread is traced, other threads' calls go through as if nothing were patched,
and traces take turns (`TRACING`). A GraphModule traced here records this tracer's class, and
unpickling it traces with a subclass of it, under the same lock.
"""

from __future__ import annotations

import pickle
import threading

import torch.fx

TRACING = threading.RLock()  # reentrant: `unpickled` holds it while unpickling traces again


class ThreadBoundTracer(torch.fx.Tracer):
    """A `torch.fx.Tracer` that traces the calls of the thread running `trace` only."""

    def trace(self, root, concrete_args=None):
        with TRACING:
            self._tracing_thread = threading.get_ident()
            return super().trace(root, concrete_args)

    def call_module(self, m, forward, args, kwargs):
        if threading.get_ident() != self._tracing_thread:
            return forward(*args, **kwargs)
        return super().call_module(m, forward, args, kwargs)

    def getattr(self, attr, attr_val, parameter_proxy_cache):
        if threading.get_ident() != self._tracing_thread:
            return attr_val
        return super().getattr(attr, attr_val, parameter_proxy_cache)


def symbolic_trace(model) -> torch.fx.GraphModule:
    """`torch.fx.symbolic_trace` of ``model`` with a `ThreadBoundTracer`."""
    tracer = ThreadBoundTracer()
    graph = tracer.trace(model)
    return torch.fx.GraphModule(tracer.root, graph, type(model).__name__)


def unpickled(data: bytes):
    """``pickle.loads(data)``, a model pickled by this process's own code, one at a time:
    unpickling a GraphModule sets the forward it traces on a class shared by all
    (``torch.fx.graph_module._CodeOnlyModule``), so two at once may trace each other's."""
    with TRACING:
        return pickle.loads(data)  # inkloop's own model (`TravellingModel`), not a stranger's
