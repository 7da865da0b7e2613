"""A checkpoint the engine saves tells the dock what its weights continued from (the
provenance's "init"), so the round the dock records of it carries the lineage as
`inkloop train`'s rounds do."""

from __future__ import annotations

from inkloop.checkpoint import load_checkpoint
from inkloop.engine import CheckpointSaved
from tests._engine import engine_for
from tests._events import TIMEOUT, Recorder


def test_a_saved_checkpoint_says_what_it_continued_from(segment, tmp_path):
    recorder, fresh, continued = Recorder(), tmp_path / "fresh.pt", tmp_path / "continued.pt"
    with engine_for(segment, recorder) as engine:
        engine.save(fresh)
        assert engine.wait(TIMEOUT)
    with engine_for(segment, recorder, init=fresh) as engine:
        engine.save(continued)
        assert engine.wait(TIMEOUT)

    first, second = recorder.of(CheckpointSaved)
    assert first.init is None  # a fresh model
    lineage = load_checkpoint(continued).provenance["init"]
    assert lineage["checkpoint"] == "fresh.pt"
    assert second.init == lineage


def test_the_lineage_crosses_the_wire():
    from inkloop.engine._wire import decode, encode

    pretrained = {"checkpoint": "a.pt", "step": 20, "segment": "segA", "labels_hash": "h"}
    lineage = {"checkpoint": "b.pt", "step": 30, "segment": "segB", "labels_hash": None}
    saved = CheckpointSaved("c.pt", 45, True, {**lineage, "init": {**pretrained, "init": None}})
    assert decode(encode(saved)[4:]) == saved
