"""The engine's bigger requests: whole-segment predictions (blocks, formats, waiting for
training, commands between blocks, cancel, close) and the model input of a region."""

from __future__ import annotations

import numpy as np
import pytest

from inkloop.compose import Composition, compose_channels, read_patches
from inkloop.engine import (
    Composed,
    Failed,
    Notice,
    PredictionReady,
    SegmentPredicted,
    SegmentProgress,
    StateChanged,
    StepDone,
    predictor_for,
)
from inkloop.io import open_segment, read_image, read_prediction
from inkloop.synthetic import write_segment
from tests._engine import BIG, WHOLE, engine_for
from tests._events import TIMEOUT, Recorder, steps_done


@pytest.fixture(scope="module")
def big_segment(tmp_path_factory):
    folder = tmp_path_factory.mktemp("big") / "20240202000000"
    return open_segment(write_segment(folder, BIG[1], BIG[2], BIG[0], seed=7))


def _ended(request):
    def ended(events):
        return any(
            getattr(e, "request", None) == request
            and isinstance(e, (SegmentPredicted, Failed, Notice))
            for e in events
        )

    return ended


def _first_progress(request):
    return lambda events: any(
        isinstance(e, SegmentProgress) and e.request == request for e in events
    )


def test_a_whole_segment_prediction_writes_a_png_after_its_progress(segment, tmp_path):
    recorder = Recorder()
    with engine_for(segment, recorder, tile=64) as engine:
        request = engine.predict_segment(tmp_path / "ink", "png")
        assert engine.wait(TIMEOUT)
        predictor = predictor_for(engine.settings, engine.trainer)
        expected = predictor.predict_region(segment, WHOLE, engine.mask)
    *progress, done = [e for e in recorder.events if getattr(e, "request", None) == request]
    assert done == SegmentPredicted(request, str(tmp_path / "ink.png"), done.seconds, 0)
    assert all(isinstance(e, SegmentProgress) for e in progress)
    assert [e.done for e in progress] == sorted({e.done for e in progress})
    assert progress[-1].done == progress[-1].total
    image = read_image(tmp_path / "ink.png", grey=True)
    assert image.dtype == np.uint8
    assert image.shape == segment.shape[1:]
    np.testing.assert_allclose(image / 255, expected, atol=0.6 / 255)
    assert [p.name for p in tmp_path.iterdir()] == ["ink.png"]


def test_tif_and_zarr_hold_the_same_probability(segment, tmp_path):
    """The TIFF to the nearest 1/255 (uint8), the zarr as float32."""
    recorder = Recorder()
    with engine_for(segment, recorder, tile=64) as engine:
        engine.predict_segment(tmp_path / "ink.png", "tif")
        engine.predict_segment(tmp_path / "ink.zarr", tta=True)
        engine.predict_segment(tmp_path / "ink.zarr")  # replaces the TTA one
        assert engine.wait(TIMEOUT)
    assert len(recorder.of(SegmentPredicted)) == 3
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ink.tif", "ink.zarr"]
    tif, zarr = read_prediction(tmp_path / "ink.tif"), read_prediction(tmp_path / "ink.zarr")
    assert tif.shape == segment.shape[1:]
    np.testing.assert_allclose(tif, zarr, atol=0.5 / 255 + 1e-6)


def test_an_unwritable_output_fails_at_once(segment, tmp_path):
    recorder = Recorder()
    with engine_for(segment, recorder) as engine:
        with pytest.raises(ValueError, match="missing: folder does not exist"):
            engine.predict_segment(tmp_path / "missing" / "ink.png")
        with pytest.raises(
            ValueError, match=r"must end in \.ome\.zarr, \.png, \.tif, \.tiff or \.zarr"
        ):
            engine.predict_segment(tmp_path / "ink.jpg")
        with pytest.raises(ValueError, match="unknown prediction format 'jpg'"):
            engine.predict_segment(tmp_path / "ink", "jpg")
    assert recorder.events == []
    assert list(tmp_path.iterdir()) == []


def test_a_failing_segment_prediction_names_its_request(segment, tmp_path):
    recorder = Recorder()
    with engine_for(segment, recorder, init=tmp_path / "missing.pt") as engine:
        request = engine.predict_segment(tmp_path / "ink.png")
        assert engine.wait(TIMEOUT)
    (failed,) = recorder.of(Failed)
    assert failed.request == request
    assert "missing.pt: no such checkpoint file" in failed.message
    assert list(tmp_path.iterdir()) == []


def test_asked_while_training_it_waits_until_training_stops(segment, tmp_path):
    recorder = Recorder()
    with engine_for(segment, recorder, tile=64) as engine:
        engine.start()
        recorder.wait_for(steps_done(1))
        request = engine.predict_segment(tmp_path / "ink.png")
        recorder.wait_for(lambda events: any(isinstance(e, Notice) for e in events))
        steps = len(recorder.of(StepDone))
        recorder.wait_for(steps_done(steps + 3))
        assert not recorder.of(SegmentProgress)
        engine.stop()
        assert engine.wait(TIMEOUT)
    (notice,) = recorder.of(Notice)
    assert "once training is paused or stopped" in notice.message
    (done,) = recorder.of(SegmentPredicted)
    assert done.request == request
    assert done.step == recorder.of(StepDone)[-1].step  # the weights training stopped with
    assert recorder.events.index(done) > recorder.events.index(recorder.of(StateChanged)[-1])


def test_commands_are_answered_between_blocks(big_segment, tmp_path):
    recorder = Recorder()
    with engine_for(big_segment, recorder, tile=64, block=128) as engine:
        asked = []

        def predict_on_first_progress(event):  # on the worker, between two blocks
            if isinstance(event, SegmentProgress) and not asked:
                asked.append(engine.predict((0, 0, 64, 64)))

        engine.subscribe(predict_on_first_progress)
        request = engine.predict_segment(tmp_path / "ink.png")
        recorder.wait_for(_ended(request))
    kinds = [type(e) for e in recorder.events if getattr(e, "request", None) in (request, *asked)]
    assert kinds.index(PredictionReady) < kinds.index(SegmentPredicted)
    assert kinds[-1] is SegmentPredicted


def test_cancel_ends_a_running_prediction_with_a_notice_and_no_file(big_segment, tmp_path):
    recorder = Recorder()
    with engine_for(big_segment, recorder, tile=64, block=128) as engine:

        def cancel_on_first_progress(event):  # on the worker, between two blocks
            if isinstance(event, SegmentProgress) and event.done == 1:
                engine.cancel(event.request)

        engine.subscribe(cancel_on_first_progress)
        request = engine.predict_segment(tmp_path / "ink.png")
        assert engine.wait(TIMEOUT)
        queued = engine.predict_segment(tmp_path / "ink.png")
        engine.start()  # the next one waits for training to stop: cancelled while queued
        engine.cancel(queued)
        engine.stop()
        assert engine.wait(TIMEOUT)
    notices = [e for e in recorder.of(Notice) if e.request is not None]
    assert [e.request for e in notices] == [request, queued]
    assert "was cancelled" in notices[0].message
    assert not recorder.of(SegmentPredicted)
    assert list(tmp_path.iterdir()) == []


def test_close_during_a_prediction_returns_promptly(big_segment, tmp_path):
    recorder = Recorder()
    engine = engine_for(big_segment, recorder, tile=64, block=128)
    request = engine.predict_segment(tmp_path / "ink.tif", tta=True)
    recorder.wait_for(_first_progress(request))
    engine.close()  # between two blocks: the job ends, unfinished
    assert not recorder.of(SegmentPredicted)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    ("mode", "names"),
    [
        ("raw", [f"layer {z}" for z in range(8)]),
        ("mean", ["mean 1-3", "mean 4-6"]),
        ("diff", [f"|L{z + 1}-L{z}|" for z in range(7)]),
    ],
)
def test_compose_gives_the_channels_the_model_sees(segment, mode, names):
    import torch

    recorder = Recorder()
    region = (10, 20, 42, 60)
    composition = Composition(mode=mode, z_count=6 if mode == "mean" else 8, scale=1)
    with engine_for(segment, recorder, composition=composition) as engine:
        request = engine.compose(region)
        assert engine.wait(TIMEOUT)
        trainer = engine.trainer
    (composed,) = recorder.of(Composed)
    assert (composed.request, composed.region, list(composed.names)) == (request, region, names)
    assert composed.channels.dtype == np.float32
    assert composed.channels.shape == (len(names), 32, 40)
    (layers,) = read_patches(segment, trainer.composition, trainer.normalisation, [(10, 20)], 40)
    expected = compose_channels(torch.from_numpy(layers), trainer.composition).numpy()
    np.testing.assert_allclose(composed.channels, expected[:, :32, :], rtol=1e-6)


def test_compose_refuses_a_region_too_large(segment, monkeypatch):
    monkeypatch.setattr("inkloop.engine._jobs.MAX_COMPOSE", 10)
    recorder = Recorder()
    with engine_for(segment, recorder) as engine:
        request = engine.compose((0, 0, 20, 20))
        assert engine.wait(TIMEOUT)
    (failed,) = recorder.of(Failed)
    assert failed.request == request
    assert "region (0, 0, 20, 20) is larger than 10 x 10 pixels" in failed.message
