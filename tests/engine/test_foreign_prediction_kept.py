"""A whole-segment prediction replaces a prediction inkloop wrote, but a file it did not write
(the Grand Prize model's ``<id>_prediction.png``, say) only when the request says the user
confirmed: a script driving the engine cannot lose one either."""

from __future__ import annotations

import re

import dask.array as da
import numpy as np
import pytest
import tifffile
import zarr
from PIL import Image

from inkloop.engine import Failed, RequestError, SegmentPredicted
from inkloop.engine._jobs import SegmentJob
from inkloop.io._prediction_metadata import foreign_file
from inkloop.predict import write_prediction
from tests._engine import engine_for
from tests._events import TIMEOUT, Recorder

KEPT = (
    "exists and inkloop did not record writing it (another tool's prediction, "
    "or one from inkloop before 2026-12-05?), so it is kept"
)


def _foreign_png(path):
    """Another tool's prediction PNG, as the Grand Prize inference writes one; its bytes."""
    Image.fromarray(np.full((16, 16), 200, np.uint8)).save(path)
    return path.read_bytes()


def _answers(recorder, request) -> list:
    return [e for e in recorder.events if getattr(e, "request", None) == request]


def test_the_engine_replaces_a_file_it_did_not_write_only_when_asked_to(segment, tmp_path):
    out = tmp_path / f"{segment.name}_prediction.png"
    before = _foreign_png(out)
    recorder = Recorder()
    with engine_for(segment, recorder, tile=64) as engine:
        refused = engine.predict_segment(out)
        assert engine.wait(TIMEOUT)
        (failed,) = _answers(recorder, refused)
        assert isinstance(failed, Failed)
        assert failed.message == f"{out} {KEPT}: predict into another file, or confirm replacing it"
        assert out.read_bytes() == before

        confirmed = engine.predict_segment(out, replace=True)
        assert engine.wait(TIMEOUT)
    assert isinstance(_answers(recorder, confirmed)[-1], SegmentPredicted)
    assert not foreign_file(out)  # inkloop's own now: the next is replaced without a word


def test_a_job_that_waited_checks_again_before_it_writes(tmp_path):
    """Queued during training, it may wait long: a file put there meanwhile is kept too."""
    out = tmp_path / "ink.png"
    job = SegmentJob(1, out, tta=False)
    job.refuse_foreign()  # nothing there when it was queued
    before = _foreign_png(out)
    with pytest.raises(RequestError, match=re.escape(KEPT)):
        job.run(None, None, None, 64, 0, print, lambda: None)
    assert out.read_bytes() == before


def _inkloops(path):
    record = {"model": {"file": "m.pt"}}
    write_prediction(da.zeros((16, 16), np.float32), path, progress=False, record=record)


def _unrecorded(path):  # an OME-Zarr pyramid inkloop did not mark, named otherwise: not its
    other = path.with_name("other.ome.zarr")
    write_prediction(da.zeros((16, 16), np.float32), other, progress=False)
    other.rename(path)


def _named_zarr(path):  # a float zarr named as a prediction, without inkloop's attributes
    zarr.create_array(str(path), shape=(16, 16), dtype="float32")


@pytest.mark.parametrize(
    ("name", "make", "foreign"),
    [
        ("x_prediction.png", _foreign_png, True),
        ("x_prediction.tif", lambda p: tifffile.imwrite(p, np.zeros((16, 16), np.uint8)), True),
        ("x_prediction.zarr", _named_zarr, True),
        ("x_prediction.png", lambda p: p.write_bytes(b"not an image"), True),
        ("x_prediction.zarr", lambda p: p.write_bytes(b"a file, not a zarr"), True),
        ("x_prediction.png", _inkloops, False),
        ("x_prediction.tif", _inkloops, False),
        ("x_prediction.zarr", _inkloops, False),
        ("x_prediction.ome.zarr", _inkloops, False),
        ("x_prediction.ome.zarr", _unrecorded, True),
        ("ink.png", _inkloops, False),  # any name: inkloop's metadata tells
        ("x_prediction.png", lambda p: None, False),  # nothing there
        ("volume.zarr", lambda p: p.mkdir(), False),  # a folder no prediction replaces at all
    ],
)
def test_foreign_file_tells_inkloops_predictions_from_other_files(tmp_path, name, make, foreign):
    path = tmp_path / name
    make(path)
    assert foreign_file(path) is foreign
