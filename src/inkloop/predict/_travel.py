"""A model that travels to other processes (dask workers) by file, loaded where it lands."""

from __future__ import annotations

import copy
import pickle
import threading
from pathlib import Path

from inkloop.predict._graph import inference_graph


class TravellingModel:
    """Holds ``model`` for a class whose objects are pickled to other processes.

    ``device_request`` ("auto", "cuda", …) is where the model goes in a process that
    unpickles the object (a dask worker); None leaves it where it arrives (on the device it
    was pickled on, or on the CPU when it is loaded from ``weights_file``).
    ``weights_file``: the checkpoint the model came from, if that process can read it: the
    object then travels without its weights (~50 MB) and each process loads them once.
    """

    def __init__(self, model, device_request: str | None, weights_file: str | None) -> None:
        self._model, self._unplaced = model, False
        self.device_request, self.weights_file = device_request, weights_file
        self.weights_stamp = _stamp(weights_file) if weights_file else None  # the file as it was

    def __getstate__(self) -> dict:
        """Without the weights when they are in ``weights_file``, else with them, pickled on
        their own (on the CPU when a ``device_request`` says where they go on arrival): a
        GraphModule is traced again as it is unpickled, which must take its turn
        (`inkloop.predict._tracing.unpickled`), not happen in whichever thread dask unpickles
        the task in."""
        state = self.__dict__.copy()
        if self.weights_file is not None:
            state["_model"] = None
        elif not self._unplaced:  # (one that arrived and was never used is sent on as it came)
            model = self._model
            if self.device_request and self.device.type != "cpu":
                model = copy.deepcopy(model).cpu()
            state["_model"] = pickle.dumps(model)
        state["_unplaced"] = True
        return state

    # The weights are loaded and placed on first use (`model`), not in __setstate__: dask
    # reports an error raised while unpickling a task as a failed deserialisation, hiding
    # its cause (the checkpoint changed or unreadable, no GPU on that worker).

    @property
    def model(self):
        """The model; in a process it was sent to, loaded (``weights_file``) and placed where
        ``device_request`` says on first use."""
        if self._unplaced:
            with _PLACING:  # block tasks run in threads: load and place it once
                if self._unplaced:
                    self._model, self._unplaced = self._arrived_model(), False
        return self._model

    @property
    def device(self):
        return next(self.model.parameters()).device

    def _arrived_model(self):
        import torch

        from inkloop.model import pick_device
        from inkloop.predict._tracing import unpickled

        model = self._model
        if model is None:
            model = _model_from_file(self.weights_file, self.weights_stamp)
        else:
            model = unpickled(model)
        if self.device_request is not None:
            model.to(pick_device(self.device_request), memory_format=torch.channels_last)
        return model


_PLACING = threading.Lock()


def _stamp(path: str) -> tuple[int, int]:
    stat = Path(path).stat()
    return stat.st_mtime_ns, stat.st_size


# (weights file, stamp) -> its model, as `_model_from_file` built it: the two used last
_MODELS: dict[tuple[str, tuple[int, int]], object] = {}


def _model_from_file(path: str, stamp: tuple[int, int]):
    """A checkpoint's model as it was when ``stamp`` (mtime, size) was taken, built once per
    process however many predictors arrive with it (called under `_PLACING`); CheckpointError
    if the file has changed since (trained further): blocks of one segment would mix two
    models. A run's end drops its own (`inkloop.predict._workers.forget_the_run`)."""
    from inkloop.checkpoint import CheckpointError, load_checkpoint

    key = (path, tuple(stamp))
    model = _MODELS.pop(key, None)
    if model is None:
        if _stamp(path) != stamp:
            raise CheckpointError(f"{path} changed while the prediction ran; predict again")
        model = inference_graph(load_checkpoint(path).build())
        for older in list(_MODELS)[:-1]:  # a copy: a run's end may pop meanwhile
            _MODELS.pop(older, None)
    _MODELS[key] = model  # the newest last
    return model
