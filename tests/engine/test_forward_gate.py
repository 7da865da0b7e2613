"""What the engine's predictions learn out of GPU memory holds for the session: one
`ForwardGate` for all its predictors, so a small GPU fails a pass size once, not per batch.

The "GPU" here is a CPU whose predictors take 8 tiles a pass, as on a GPU, and whose forward
pass raises torch's OutOfMemoryError for more than one tile (tests/predict/test_memory.py
tests the gate itself).
"""

from __future__ import annotations

import warnings

import numpy as np
import torch

from inkloop._notify import InkloopWarning
from inkloop.engine._session import Session
from inkloop.predict import Predictor
from inkloop.settings import EngineSettings
from inkloop.train import LabelStore
from tests._engine import WHOLE, engine_for, rounds_done
from tests._events import Recorder
from tests._helpers import FULL_RESOLUTION, tiny_model, tiny_training


def test_previews_out_of_gpu_memory_fail_once_for_the_session(segment, monkeypatch):
    passes, flushes = [], []
    real_forward = Predictor._forward

    def room_for_one_tile(self, layers):
        passes.append(len(layers))
        if len(layers) > 1:
            raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")
        return real_forward(self, layers)

    monkeypatch.setattr(Predictor, "batch_size", property(lambda self: 8))
    monkeypatch.setattr(Predictor, "_forward", room_for_one_tile)
    monkeypatch.setattr(torch.cuda, "empty_cache", lambda: flushes.append(1))
    recorder = Recorder()
    with (
        warnings.catch_warnings(record=True) as warned,
        engine_for(segment, recorder, tile=64) as engine,
    ):
        warnings.simplefilter("always", InkloopWarning)
        requests = []
        for _ in range(3):  # a batch of 1 tile, then one of 5, each time
            requests.append(engine.preview(WHOLE, every=0.0))
            recorder.wait_for(rounds_done(requests[-1], 1))
        requests.append(engine.predict(WHOLE))
        recorder.wait_for(rounds_done(requests[-1], 1))

    failed = [tiles for tiles in passes if tiles > 1]
    assert failed == [5, 2]  # the first preview's second batch; every later pass takes 1 tile
    assert len(flushes) == 2  # not the training step's cached memory every preview batch
    assert [str(w.message)[:40] for w in warned if w.category is InkloopWarning] == [
        "out of GPU memory: predicting 2 tiles a ",
        "out of GPU memory: predicting 1 tile a p",
    ]


def test_every_predictor_of_a_session_shares_its_gate(segment):
    labels = LabelStore(np.asarray(segment.ink_labels), np.asarray(segment.mask))
    settings = EngineSettings(
        model=tiny_model(), train=tiny_training(), composition=FULL_RESOLUTION
    )
    session = Session(segment, labels, settings)
    preview, segment_prediction = session.predictor(), session.predictor(tta=True, frozen=True)
    assert preview.memory is segment_prediction.memory is session.memory
