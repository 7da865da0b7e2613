"""The engine's whole-segment predictions leave no uncollected graph behind."""

from __future__ import annotations

import gc

from tests._engine import engine_for
from tests._events import TIMEOUT, Recorder


def _graphs() -> int:
    from torch.fx import GraphModule

    return sum(isinstance(o, GraphModule) for o in gc.get_objects())


def test_a_whole_segment_prediction_frees_its_frozen_graph(segment, tmp_path):
    # the frozen inference graph lives in reference cycles (torch.fx): its weights stayed in
    # the engine child's memory until a collection that a long session may not reach soon
    with engine_for(segment, Recorder(), tile=64) as engine:
        engine.predict_segment(tmp_path / "first.png")
        assert engine.wait(TIMEOUT)
        gc.collect()
        gc.disable()
        try:
            before = _graphs()
            for name in ("a.png", "b.png"):
                engine.predict_segment(tmp_path / name)
                assert engine.wait(TIMEOUT)
            assert _graphs() == before
        finally:
            gc.enable()
