"""The engine's whole-segment predictions leave no uncollected graph behind, and its child
keeps few malloc arenas."""

from __future__ import annotations

import gc

from inkloop.engine._arenas import cap_malloc_arenas
from tests._engine import engine_for
from tests._events import TIMEOUT, Recorder
from tests._helpers import linux_only


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


@linux_only("glibc's mallopt")
def test_the_engine_child_caps_its_malloc_arenas():
    # with glibc's 8 arenas per core the child grew ~35 MB per whole-segment prediction
    # (1012 -> 1442 MB over 12), its threads' freed memory kept in their own arenas
    assert cap_malloc_arenas()
