"""The engine as a script drives it: no output replaces what the session reads, a closed
engine refuses requests, a segment given by path, a bad region told in one line."""

from __future__ import annotations

import logging

import numpy as np
import pytest

from inkloop.engine import (
    CheckpointSaved,
    Engine,
    EngineProcess,
    Failed,
    SegmentPredicted,
    _jobs,
)
from inkloop.engine._events import log_failure
from inkloop.io import checkpoint_path, open_segment
from tests._engine import engine_for, folder_labels, process_settings
from tests._events import TIMEOUT, Recorder, of_kind

SEGMENT = "20231012184423"  # the segment_folder fixture's id


def _targets(folder):
    """Files of the segment a careless output path could name."""
    return {
        "ink labels": folder / f"{SEGMENT}_inklabels.png",
        "mask": folder / f"{SEGMENT}_mask.png",
        "layer": folder / "layers" / "03.tif",
    }


def _contents(paths) -> dict:
    return {path: path.read_bytes() for path in paths}


def _refused(events, request=None) -> list[str]:
    """The Failed messages (of ``request``) saying an output is a file of the segment."""
    failed = [e for e in of_kind(Failed, events) if e.request == request]
    return [e.message for e in failed if f"of segment {SEGMENT}" in e.message]


def test_engine_refuses_outputs_over_the_segments_files(segment_folder, caplog):
    targets = _targets(segment_folder)
    before = _contents(targets.values())
    recorder = Recorder()
    caplog.set_level(logging.INFO, logger="inkloop.engine")
    with engine_for(open_segment(segment_folder), recorder) as engine:
        for path in targets.values():
            request = engine.predict_segment(path)
            engine.save(path)
            assert engine.wait(TIMEOUT)
            (message,) = _refused(recorder.events, request)
            assert message.startswith(f"{path} ")
            assert "write the output elsewhere" in message
        assert len(_refused(recorder.events)) == len(targets)  # the saves
        assert engine.trainer is None  # refused before any model was built
    assert _contents(targets.values()) == before
    assert not of_kind(SegmentPredicted, recorder.events)
    assert not of_kind(CheckpointSaved, recorder.events)
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]  # a user's error


def test_an_autosave_over_the_segments_labels_is_refused_at_once(segment_folder):
    labels = _targets(segment_folder)["ink labels"]
    with pytest.raises(ValueError, match="is the ink labels of segment"):
        engine_for(open_segment(segment_folder), Recorder(), autosave=labels)


def test_the_docks_own_checkpoint_beside_the_segment_is_saved(segment_folder):
    recorder = Recorder()
    segment = open_segment(segment_folder)
    out = checkpoint_path(segment)  # where the dock autosaves, in the segment's folder
    with engine_for(segment, recorder) as engine:
        engine.save(out)
        assert engine.wait(TIMEOUT)
    assert [e.path for e in of_kind(CheckpointSaved, recorder.events)] == [str(out)]
    assert not of_kind(Failed, recorder.events)


def test_engine_process_refuses_outputs_over_the_segments_files(segment_folder):
    targets = _targets(segment_folder)
    before = _contents(targets.values())
    recorder = Recorder()
    ink, supervised = folder_labels(segment_folder)
    with EngineProcess(segment_folder, ink, supervised, process_settings(), recorder) as proxy:
        request = proxy.predict_segment(targets["layer"])
        proxy.save(targets["ink labels"])
        assert proxy.wait(TIMEOUT)
    (message,) = _refused(recorder.events, request)
    assert "layer folder" in message
    (message,) = _refused(recorder.events)
    assert "ink labels" in message
    assert _contents(targets.values()) == before
    assert not of_kind(SegmentPredicted, recorder.events)
    assert not of_kind(CheckpointSaved, recorder.events)


@pytest.mark.parametrize("used", [False, True])
def test_a_closed_engine_refuses_requests(segment_folder, used):
    recorder = Recorder()
    engine = engine_for(open_segment(segment_folder), recorder)
    if used:
        engine.pause()  # the worker thread runs (nothing to pause: no model is built)
        assert engine.wait(TIMEOUT)
    engine.close()
    ink = np.zeros((4, 4), np.uint8)
    requests = [
        engine.start,
        lambda: engine.predict((0, 0, 32, 32)),
        lambda: engine.save(segment_folder / "model.pt"),
        lambda: engine.update_labels(ink, ink.astype(bool), (0, 0, 4, 4)),
    ]
    for request in requests:
        with pytest.raises(RuntimeError, match="the engine is closed"):
            request()
    assert engine.wait(0)  # nothing left that could still be handled
    engine.close()  # again: nothing to do


def test_engine_opens_a_segment_given_by_path(segment_folder):
    ink, supervised = folder_labels(segment_folder)
    settings = process_settings()
    with Engine(str(segment_folder), ink, supervised, settings) as engine:
        assert engine.segment.name == SEGMENT
        assert engine.segment.shape == open_segment(segment_folder).shape
        assert engine.mask is not None


def test_labels_of_another_size_than_the_segment_are_refused(segment_folder):
    ink, supervised = folder_labels(segment_folder)
    height, width = ink.shape
    with pytest.raises(ValueError, match=rf"labels \(32, {width}\) do not match the segment's"):
        Engine(segment_folder, ink[:32], supervised[:32], process_settings())
    padded = np.pad(ink, 8), np.pad(supervised, 8)
    with pytest.raises(ValueError, match=rf"match the segment's \({height}, {width}\)"):
        Engine(segment_folder, *padded, process_settings())


@pytest.mark.parametrize("ask", ["predict", "preview", "compose"])
def test_a_region_off_the_segment_is_one_line(segment_folder, caplog, ask):
    recorder = Recorder()
    caplog.set_level(logging.INFO, logger="inkloop.engine")
    with engine_for(open_segment(segment_folder), recorder) as engine:
        request = getattr(engine, ask)((0, 0, 500, 500))
        assert engine.wait(TIMEOUT)
    (failed,) = of_kind(Failed, recorder.events)
    assert failed.request == request
    assert "is empty or outside the 64x96 segment" in failed.message
    (record,) = [r for r in caplog.records if "failed" in r.getMessage()]
    assert record.levelno == logging.INFO
    assert record.exc_info is None


def test_a_composition_too_large_to_show_is_one_line(segment_folder, caplog, monkeypatch):
    monkeypatch.setattr(_jobs, "MAX_COMPOSE", 16)  # the test segment is far below 2048²
    recorder = Recorder()
    caplog.set_level(logging.INFO, logger="inkloop.engine")
    with engine_for(open_segment(segment_folder), recorder) as engine:
        engine.compose((0, 0, 32, 32))
        assert engine.wait(TIMEOUT)
    (failed,) = of_kind(Failed, recorder.events)
    assert "is larger than 16 x 16 pixels" in failed.message
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]


def test_a_value_error_of_the_engines_own_keeps_its_traceback(caplog):
    try:
        raise ValueError("a bug deep inside")
    except ValueError as error:
        log_failure("inkloop engine: work", error)
    (record,) = caplog.records
    assert record.levelno == logging.ERROR
    assert record.exc_info is not None


def test_ranking_with_an_untrained_model_is_one_line(segment_folder, caplog):
    recorder = Recorder()
    caplog.set_level(logging.INFO, logger="inkloop.engine")
    with engine_for(open_segment(segment_folder), recorder) as engine:
        request = engine.rank(box=32, tiles=2)
        assert engine.wait(TIMEOUT)
    (failed,) = of_kind(Failed, recorder.events)
    assert failed.request == request
    assert "not been trained yet" in failed.message
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]
