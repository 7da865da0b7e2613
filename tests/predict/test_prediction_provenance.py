"""Every prediction file says how it was made (model, segment, layers, options, machine,
inkloop version) beside the origin of a region's prediction, and `inkloop predict` echoes it."""

from __future__ import annotations

import dataclasses
import hashlib
import json
from datetime import datetime
from pathlib import Path
from types import SimpleNamespace

import dask.array as da
import numpy as np
import pytest

import inkloop
from inkloop.checkpoint import load_checkpoint
from inkloop.cli import main
from inkloop.io import open_segment, prediction_kind, prediction_origin, prediction_output
from inkloop.io._prediction_metadata import recorded_provenance
from inkloop.predict import Predictor
from inkloop.predict._outputs import PredictionFile
from inkloop.predict._provenance import live_model_identity, model_identity, prediction_record
from tests._helpers import save_tiny_checkpoint

FORMATS = ["p.png", "p.tif", "p.zarr", "p.ome.zarr"]


def _write(out: Path, shape=(40, 50), record=None, origin=(0, 0)) -> Path:
    """``out`` written as `write_prediction` writes it, with ``record``."""
    values = np.random.default_rng(0).random(shape, dtype=np.float32)
    kind = prediction_kind(out)
    output = PredictionFile(out, kind, shape, origin=origin, record=record)
    output.store(da.from_array(values, chunks=32)).compute(scheduler="sync")
    return output.finish()


@pytest.fixture(scope="module")
def made(training_folder, tmp_path_factory):
    """A tiny checkpoint and a Predictor of it reading the segment back to front from
    position 2, with tta."""
    model = save_tiny_checkpoint(tmp_path_factory.mktemp("model") / "tiny.pt")
    checkpoint = load_checkpoint(model)
    checkpoint = dataclasses.replace(checkpoint, provenance={"run": "0f1e2d"})
    segment = open_segment(training_folder)
    predictor = Predictor.from_checkpoint(
        checkpoint, segment, device="cpu", z_start=2, reverse=True, tta=True
    )
    return SimpleNamespace(model=model, checkpoint=checkpoint, segment=segment, predictor=predictor)


def test_the_record_names_the_model_segment_layers_options_and_version(made):
    record = prediction_record(
        made.predictor, made.segment, model_identity(made.checkpoint), (0, 8, 40, 58)
    )

    sha256 = hashlib.sha256(made.model.read_bytes()).hexdigest()  # as `sha256sum` prints it
    assert record["model"] == {"file": "tiny.pt", "sha256": sha256[:16], "run": "0f1e2d", "step": 7}
    assert record["segment"] == {
        "name": made.segment.name,
        "path": str(made.segment.path),
        "shape": list(made.segment.shape[1:]),
    }
    # 8 layers read back to front, the window from position 2: layers 5, 4, 3, 2 as stored
    assert record["layers"] == [5, 4, 3, 2]
    assert record["layer_files"] == [5, 4, 3, 2]
    assert record["reverse"] is True
    assert record["tta"] is True
    assert (record["composition"], record["scale"]) == ("raw", 1)
    assert record["device"] == "cpu"
    assert record["precision"] in ("float32", "bfloat16")
    assert record["region"] == [0, 8, 40, 58]
    assert record["inkloop"] == inkloop.__version__
    json.dumps(record)  # it goes into JSON in every format


def test_a_url_is_recorded_without_its_login(made):
    segment = SimpleNamespace(
        name="s", path="https://me:secret@host/s.zarr", shape=(8, 96, 128), layer_numbers=()
    )
    record = prediction_record(made.predictor, segment, None, (0, 0, 96, 128))
    assert record["segment"]["path"] == "https://host/s.zarr"
    assert "secret" not in json.dumps(record)


def test_the_model_a_session_trains_is_named_by_its_step_and_run():
    assert live_model_identity(120, "ab12") == {
        "file": None,
        "sha256": None,
        "run": "ab12",
        "step": 120,
    }


@pytest.mark.parametrize("name", FORMATS)
def test_each_format_records_the_record_beside_the_origin(made, tmp_path, name):
    record = prediction_record(made.predictor, made.segment, None, (10, 20, 50, 70))

    out = _write(prediction_output(tmp_path / name), record=record, origin=(10, 20))

    recorded = recorded_provenance(out)
    written = recorded.pop("written")
    assert recorded == record
    assert datetime.fromisoformat(written).utcoffset().total_seconds() == 0  # UTC
    assert prediction_origin(out) == (10.0, 20.0)  # the origin is read as before


@pytest.mark.parametrize("name", FORMATS)
def test_a_region_written_over_a_prediction_records_only_its_own_write(made, tmp_path, name):
    """A region's prediction replaces the file: the record is its own, with the region,
    and nothing of the whole-segment prediction before it stays behind."""
    out = prediction_output(tmp_path / name)
    whole = {"model": {"file": "a.pt"}, "region": [0, 0, 96, 128], "tta": True}
    _write(out, shape=(96, 128), record=whole)

    region = prediction_record(made.predictor, made.segment, {"file": "b.pt"}, (8, 16, 40, 66))
    _write(out, shape=(32, 50), record=region, origin=(8, 16))

    recorded = recorded_provenance(out)
    assert recorded["model"] == {"file": "b.pt"}
    assert recorded["region"] == [8, 16, 40, 66]
    assert prediction_origin(out) == (8.0, 16.0)


@pytest.mark.parametrize("name", FORMATS)
def test_a_file_without_a_record_reads_as_none(tmp_path, name):
    out = _write(prediction_output(tmp_path / name))
    assert recorded_provenance(out) is None
    assert prediction_origin(out) == (0.0, 0.0)


def test_inkloop_predict_echoes_what_each_file_records(
    segment_folder, tmp_path, monkeypatch, capsys
):
    record = {"model": {"file": "m.pt"}, "region": [0, 0, 40, 50]}
    out = tmp_path / "p.tif"

    def predict_segments(segments, model, **options):
        _write(options["out"], record=record)
        return {"written": [str(options["out"])], "skipped": [], "failed": [], "device": "cpu"}

    monkeypatch.setattr("inkloop.headless.predict_segments", predict_segments)
    command = ["predict", str(segment_folder), "--model", str(tmp_path / "m.pt"), "--out", str(out)]
    assert main(command) == 0

    summary = json.loads(capsys.readouterr().out)
    assert summary["provenance"] == {str(out): recorded_provenance(out)}
    assert summary["provenance"][str(out)]["model"] == {"file": "m.pt"}


def _predict(capsys, *args) -> dict:
    assert main(["predict", *map(str, args), "--device", "cpu", "--quiet"]) == 0
    return json.loads(capsys.readouterr().out)


def test_inkloop_predict_records_its_window_reverse_and_tta(made, tmp_path, capsys):
    """The review's repro: a --reverse --z-start 2 --tta prediction and a plain one."""
    segment, model = made.segment.path, made.model
    plain, other = tmp_path / "a.tif", tmp_path / "b.tif"
    _predict(capsys, segment, "--model", model, "--out", plain)
    summary = _predict(
        capsys, segment, "--model", model, "--out", other, "--reverse", "--z-start", "2", "--tta"
    )

    first, second = recorded_provenance(plain), recorded_provenance(other)
    assert summary["provenance"] == {str(other): second}
    sha256 = hashlib.sha256(model.read_bytes()).hexdigest()[:16]
    assert second["model"] == {"file": "tiny.pt", "sha256": sha256, "run": None, "step": 7}
    assert second["segment"] == {
        "name": made.segment.name,
        "path": str(segment),
        "shape": list(made.segment.shape[1:]),
    }
    assert (first["layers"], first["reverse"], first["tta"]) == ([0, 1, 2, 3], False, False)
    assert (second["layers"], second["reverse"], second["tta"]) == ([5, 4, 3, 2], True, True)
    assert second["region"] == [0, 0, 96, 128]


def test_the_engine_records_the_run_and_step_of_the_model_it_predicted_with(segment, tmp_path):
    """A dock prediction names the model in training by its run (the id its saves carry)
    and its step: no file holds those weights."""
    from inkloop.engine import RunStarted
    from tests._engine import engine_for
    from tests._events import TIMEOUT, Recorder
    from tests._helpers import tiny_training

    recorder = Recorder()
    with engine_for(segment, recorder, train=tiny_training(max_steps=1), tile=64) as engine:
        engine.start()
        assert engine.wait(TIMEOUT)
        engine.predict_segment(tmp_path / "ink.ome.zarr", tta=True)
        assert engine.wait(TIMEOUT)

    (started,) = recorder.of(RunStarted)
    record = recorded_provenance(tmp_path / "ink.ome.zarr")
    assert record["model"] == {"file": None, "sha256": None, "run": started.run, "step": 1}
    assert record["tta"] is True
    assert record["segment"]["name"] == segment.name


def test_a_cluster_run_records_the_device_asked_of_its_workers(made, tmp_path):
    """`inkloop predict --scheduler` stages each segment here and its workers compute it."""
    from inkloop.predict import _batch
    from inkloop.predict.batch import Job

    job = Job(made.segment.path, tmp_path / "p.zarr")
    output, marks = _batch._stage(made.checkpoint, made.model, job, "cpu", True, 2, True)
    marks.compute(scheduler="sync")
    record = recorded_provenance(output.finish())

    assert record["model"] == model_identity(made.checkpoint)
    assert (record["layers"], record["reverse"], record["tta"]) == ([5, 4, 3, 2], True, True)
    assert (record["device"], record["precision"]) == ("cpu", None)  # each worker picks its own
    assert record["region"] == [0, 0, *made.segment.shape[1:]]
