"""Many segments on a real dask.distributed cluster: equal to the in-process run (but for
float rounding), resumable, and a worker killed mid-run costs its blocks, not the run."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import numpy as np
import pytest

from inkloop._cli_predict import REFUSED
from inkloop.cli import main
from inkloop.io import read_prediction
from inkloop.synthetic import write_segment
from tests._helpers import FAST

pytest.importorskip("distributed")


@pytest.fixture(scope="module")
def two_segments(tmp_path_factory, training_folder):
    root = tmp_path_factory.mktemp("segments")
    other = write_segment(root / "20240202000000", 80, 112, 8, seed=6)
    model = root / "model.pt"
    assert (
        main(["train", str(training_folder), "--out", str(model), "--max-steps", "2", *FAST]) == 0
    )
    return [training_folder, other], model


def _assert_same_map(there: np.ndarray, here: np.ndarray) -> None:
    """Equal but for float rounding: the workers' torch runs on one thread each, the
    in-process run on two, and oneDNN's sums may round differently with the thread count
    (a pixel in ten thousand one grey level apart, seen with a two-step model)."""
    assert here.std() > 0  # a real map, not a constant both runs agree on
    np.testing.assert_allclose(there, here, atol=1 / 255 + 1e-6, rtol=0)
    assert np.count_nonzero(there != here) <= 1e-3 * here.size


def _predict(segments, model, out_dir, *extra) -> dict:
    args = ["predict", *map(str, segments), "--model", str(model), "--out-dir", str(out_dir)]
    return main([*args, "--device", "cpu", "--quiet", *extra])


@pytest.mark.slow
def test_two_segments_on_local_2_equal_the_in_process_run(two_segments, tmp_path, capsys):
    segments, model = two_segments
    moved = ("--z-start", "3")  # the window moved off the trained layers, on the workers too
    assert _predict(segments, model, tmp_path / "here", *moved) == 0
    assert _predict(segments, model, tmp_path / "cluster", "--scheduler", "local:2", *moved) == 0
    summary = json.loads(capsys.readouterr().out.splitlines()[-1])
    assert summary["scheduler"] == "local:2"
    assert len(summary["written"]) == 2
    for segment in segments:
        name = f"{segment.name}_prediction.ome.zarr"
        here = read_prediction(tmp_path / "here" / name)
        there = read_prediction(tmp_path / "cluster" / name)
        _assert_same_map(there, here)
    assert sorted(p.name for p in (tmp_path / "cluster").iterdir()) == sorted(
        f"{s.name}_prediction.ome.zarr" for s in segments
    )  # nothing staged is left behind


def test_finished_outputs_are_skipped_unless_overwrite(two_segments, tmp_path, capsys):
    segments, model = two_segments
    assert _predict(segments[:1], model, tmp_path) == 0
    out = tmp_path / f"{segments[0].name}_prediction.ome.zarr"
    stamp = out.stat().st_mtime_ns
    capsys.readouterr()
    assert _predict(segments[:1], model, tmp_path) == 0
    captured = capsys.readouterr()
    assert json.loads(captured.out)["skipped"] == [str(out)]
    assert "exists, skipped (--overwrite to redo)" in captured.err
    assert out.stat().st_mtime_ns == stamp
    assert _predict(segments[:1], model, tmp_path, "--overwrite") == 0
    assert json.loads(capsys.readouterr().out)["written"] == [str(out)]


def _kill_once(flag):
    """A worker plugin (defined here so that it travels by value) that kills its worker's
    process right after the first chunk it stores, once in the whole run."""
    from distributed import WorkerPlugin

    class KillAfterFirstChunk(WorkerPlugin):
        def transition(self, key, start, finish, **kwargs):
            if finish == "memory" and "_store_chunk" in str(key) and not flag.exists():
                flag.touch()
                os._exit(1)

    return KillAfterFirstChunk()


@pytest.mark.slow
def test_a_worker_killed_mid_run_costs_its_blocks_not_the_run(two_segments, tmp_path):
    from inkloop.predict.batch import cluster_client, local_cluster, plan_jobs, predict_jobs

    segments, model = two_segments
    assert _predict(segments, model, tmp_path / "here") == 0
    jobs, _ = plan_jobs(segments, tmp_path / "cluster")
    flag = tmp_path / "killed"
    cluster = local_cluster(2, "cpu")  # a running cluster, reached by its address
    try:
        with cluster_client(cluster.scheduler_address, device="cpu") as client:
            client.register_plugin(_kill_once(flag))
            written = predict_jobs(model, jobs, client, device="cpu", progress=False)
    finally:
        cluster.close()
    assert flag.exists()  # a worker did die during the run
    assert sorted(written) == sorted(job.out for job in jobs)
    for job in jobs:
        expected = read_prediction(tmp_path / "here" / job.out.name)
        _assert_same_map(read_prediction(job.out), expected)


def test_a_gpu_worker_runs_a_block_per_core_and_sees_its_own_gpu():
    from inkloop.predict._cluster import worker_options

    gpu_workers = [worker_options(i, gpus=2, cores=8, workers=3) for i in range(3)]
    cpu_worker = worker_options(0, gpus=0, cores=8, workers=1)

    assert [w["env"]["CUDA_VISIBLE_DEVICES"] for w in gpu_workers] == ["0", "1", "0"]
    assert {w["nthreads"] for w in gpu_workers} == {8}  # the GPU waits on the CPU's side
    assert cpu_worker["nthreads"] == 1  # torch takes the cores, one block at a time
    assert cpu_worker["env"] == {}
    assert {w["host"] for w in [*gpu_workers, cpu_worker]} == {"127.0.0.1"}


@pytest.mark.parametrize(
    ("scheduler", "message"),
    [
        ("local:0", "expected local:N with N workers, N >= 1"),
        ("cluster", "expected local:N or an address like tcp://HOST:8786"),
    ],
)
def test_a_bad_scheduler_is_one_line(two_segments, tmp_path, capsys, scheduler, message):
    segments, model = two_segments
    assert _predict(segments, model, tmp_path, "--scheduler", scheduler) == REFUSED
    assert message in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []


def test_a_bad_scheduler_is_refused_before_any_segment_opens(two_segments, tmp_path, capsys):
    _segments, model = two_segments
    nothing = [tmp_path / "nothing"]
    assert _predict(nothing, model, tmp_path / "out", "--scheduler", "cluster") == REFUSED
    assert "--scheduler cluster: expected local:N" in capsys.readouterr().err


def test_without_distributed_the_message_says_which_extra(
    two_segments, tmp_path, capsys, monkeypatch
):
    segments, model = two_segments
    monkeypatch.setitem(sys.modules, "distributed", None)  # import distributed fails
    assert _predict(segments, model, tmp_path, "--scheduler", "local:1") == REFUSED
    assert "pip install '.[cluster]' in inkloop's clone" in capsys.readouterr().err


def test_one_output_file_takes_one_segment(two_segments, tmp_path, capsys):
    segments, model = two_segments
    args = ["predict", *map(str, segments), "--model", str(model), "--out", str(tmp_path / "p.png")]
    assert main(args) == REFUSED
    assert "--out takes one segment, not 2; use --out-dir" in capsys.readouterr().err


def test_a_batch_is_refused_before_any_work(two_segments, tmp_path, capsys):
    segments, model = two_segments
    shallow = write_segment(tmp_path / "shallow" / "20240303000000", 64, 64, 4, seed=1)
    out_dir = tmp_path / "out"
    assert _predict([*segments, shallow], model, out_dir) == REFUSED
    assert "20240303000000 has 4 layers" in capsys.readouterr().err
    assert _predict(segments, model, out_dir, "--z-start", "5") == REFUSED
    assert "z-window 5..8 is outside layers 0..7" in capsys.readouterr().err
    assert _predict([*segments, tmp_path / "nothing"], model, out_dir) == REFUSED
    assert "nothing" in capsys.readouterr().err
    assert not out_dir.exists()  # neither the first segments' predictions nor an empty folder


def test_jobs_name_absolute_paths_for_workers_started_in_other_folders(
    segment_folder, tmp_path, monkeypatch
):
    from inkloop.predict.batch import plan_jobs

    monkeypatch.chdir(tmp_path)
    jobs, _ = plan_jobs([Path(segment_folder.name)], Path("out"))
    assert jobs[0].segment == segment_folder
    assert jobs[0].out == tmp_path / "out" / f"{segment_folder.name}_prediction.ome.zarr"


@pytest.mark.slow
def test_an_interrupt_while_a_segment_is_staged_leaves_no_staged_output(
    two_segments, tmp_path, monkeypatch
):
    from inkloop.predict import _batch
    from inkloop.predict.batch import cluster_client, plan_jobs, predict_jobs

    segments, model = two_segments
    jobs, _ = plan_jobs(segments, tmp_path / "out")
    real_stage, staged = _batch._stage, []

    def interrupted_at_the_second(*args):
        if staged:
            raise KeyboardInterrupt  # Ctrl-C while the second segment opens
        staged.append(real_stage(*args))
        return staged[-1]

    monkeypatch.setattr(_batch, "_stage", interrupted_at_the_second)
    with cluster_client("local:1", device="cpu") as client, pytest.raises(KeyboardInterrupt):
        predict_jobs(model, jobs, client, device="cpu", progress=False)
    assert list((tmp_path / "out").iterdir()) == []  # neither .partial nor .lock of the first


@pytest.fixture(scope="module")
def elsewhere_cluster(tmp_path_factory):
    """A running one-worker cluster whose worker works in a folder of its own."""
    from inkloop.predict.batch import cluster_client, local_cluster

    cluster = local_cluster(1, "cpu")
    try:
        with cluster_client(cluster.scheduler_address, device="cpu") as client:
            client.run(os.chdir, str(tmp_path_factory.mktemp("worker_folder")))
            yield cluster, client
    finally:
        cluster.close()


@pytest.mark.slow
def test_a_relative_out_reaches_workers_working_elsewhere(
    two_segments, tmp_path, monkeypatch, elsewhere_cluster
):
    from inkloop.headless import predict_segments

    segments, model = two_segments
    cluster, _client = elsewhere_cluster
    monkeypatch.chdir(tmp_path)
    assert main(["predict", str(segments[0]), "--model", str(model), "--out", "here.zarr"]) == 0
    summary = predict_segments(
        segments[:1], model, out=Path("there.zarr"), scheduler=cluster.scheduler_address,
        device="cpu", progress=False,
    )  # fmt: skip
    assert summary["written"] == [str(tmp_path / "there.zarr")]
    _assert_same_map(read_prediction("there.zarr"), read_prediction("here.zarr"))


@pytest.mark.slow
def test_a_worker_that_cannot_see_the_staged_output_fails_the_run(
    two_segments, tmp_path, monkeypatch, elsewhere_cluster
):
    from inkloop.predict.batch import Job, predict_jobs

    segments, model = two_segments
    _cluster, client = elsewhere_cluster
    monkeypatch.chdir(tmp_path)
    unseen = Job(segments[0], Path("unseen.zarr"))  # relative: not where the worker works
    with pytest.raises(RuntimeError, match="must see this machine's files at the same paths"):
        predict_jobs(model, [unseen], client, device="cpu", progress=False)
    assert list(tmp_path.iterdir()) == []  # its staged output removed


def test_the_dashboard_link_is_given_only_where_a_dashboard_answers(elsewhere_cluster):
    import importlib.util
    from urllib.request import urlopen

    from inkloop.predict.batch import dashboard_address

    _cluster, client = elsewhere_cluster
    link = dashboard_address(client)
    if importlib.util.find_spec("bokeh") is None:  # the scheduler's HTTP server answers 404
        assert link is None
    else:
        with urlopen(link) as answer:
            assert answer.status == 200


def test_a_gpu_run_is_staged_on_a_machine_without_one(two_segments, tmp_path, monkeypatch):
    """A login node without a GPU sends the work to GPU workers: only they need CUDA."""
    import torch

    from inkloop.checkpoint import load_checkpoint
    from inkloop.predict import _batch
    from inkloop.predict.batch import Job

    segments, model = two_segments
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    job = Job(segments[0], tmp_path / "p.zarr")
    output, _marks = _batch._stage(load_checkpoint(model), model, job, "cuda", False, None)
    output.abandon()
