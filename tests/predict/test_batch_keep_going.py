"""A batch of segments as a headless user runs it overnight: a mask of the wrong size is
refused before any output is made; a renamed folder's mask is said to be ignored; a segment
whose data is damaged stops the batch (in this process and on a cluster, where its layers are
read as it is staged), or with --keep-going fails alone, as does one refused as it opens; an
output another run wrote (or is writing) since the batch was planned is skipped when its turn
comes."""

from __future__ import annotations

import json

import pytest
import tifffile
from PIL import Image

from inkloop._cli_predict import REFUSED
from inkloop.cli import main
from inkloop.synthetic import write_segment
from tests._helpers import save_tiny_checkpoint

SIZE = (64, 64)


@pytest.fixture
def batch(tmp_path, monkeypatch):
    """Three small segments a, b, c and an untrained tiny model reading layers 0..3."""
    monkeypatch.chdir(tmp_path)
    for seed, name in enumerate("abc"):
        write_segment(tmp_path / name, *SIZE, 8, seed=seed)
    save_tiny_checkpoint(tmp_path / "model.pt")
    return tmp_path


def _predict(*args) -> int:
    return main(["predict", *args, "--model", "model.pt", "--device", "cpu", "--quiet"])


def _damage_a_layer(segment) -> None:
    """Rewrite layer 02 (read by the model) zlib-compressed, with bytes of a tile garbled:
    its header opens, its pixels cannot be decoded."""
    path = segment / "layers" / "02.tif"
    tifffile.imwrite(path, tifffile.imread(path), compression="zlib", tile=(32, 32))
    with tifffile.TiffFile(path) as tiff:
        offset = tiff.pages[0].dataoffsets[1]
    data = bytearray(path.read_bytes())
    data[offset + 4 : offset + 60] = bytes(range(56))
    path.write_bytes(bytes(data))


ON_A_CLUSTER = pytest.param(("--scheduler", "local:1"), id="local:1", marks=pytest.mark.slow)


@pytest.mark.parametrize("scheduler", [pytest.param((), id="in-process"), ON_A_CLUSTER])
def test_without_keep_going_a_failed_segment_stops_the_batch(batch, capsys, scheduler):
    _damage_a_layer(batch / "b")  # its staging reads the damaged tile, on a cluster too
    assert _predict("b", "a", "--out-dir", "out", *scheduler) == REFUSED  # none had begun
    err = capsys.readouterr().err
    damaged = batch / "b" / "layers" / "02.tif"
    assert err.startswith(f"inkloop predict: error: {damaged}: cannot be decoded")
    assert err.count("\n") == 1
    assert not (batch / "out").exists() or list((batch / "out").iterdir()) == []  # nor a's


def test_a_mask_of_the_wrong_size_is_refused_before_any_output(batch, capsys):
    Image.new("L", (SIZE[1], SIZE[0] - 4), 255).save(batch / "b" / "b_mask.png")
    assert _predict("a", "b", "c", "--out-dir", "out") == REFUSED
    error = capsys.readouterr().err
    assert "b_mask.png: image is 60x64 but the layers are 64x64" in error
    assert not (batch / "out").exists()  # a's prediction was not written first


def test_a_renamed_folder_says_its_mask_is_not_used_once(batch, capsys):
    (batch / "b").rename(batch / "b2")  # its side files keep the name b_...
    assert _predict("a", "b2", "--out-dir", "out") == 0
    said = [line for line in capsys.readouterr().err.splitlines() if "papyrus mask" in line]
    assert said == [
        f"inkloop predict: b2 has no papyrus mask: every pixel is predicted, the air around "
        f"the papyrus included (b_inklabels.png, b_mask.png in {batch / 'b2'} "
        "name another segment; this one's files must start with its id, b2_ "
        "(the folder's name): rename them to use them (2 files), as "
        f"`cd {batch / 'b2'} && {{ mv -n b_inklabels.png b2_inklabels.png; "
        "mv -n b_mask.png b2_mask.png; }` does)"
    ]


def _check_keep_going(batch, captured) -> None:
    """b failed, said once as it failed and once at the end; a was written after it."""
    summary, out = json.loads(captured.out), batch / "out"
    assert summary["written"] == [str(out / "a_prediction.ome.zarr")]
    (failed,) = summary["failed"]
    assert failed["segment"] == str(batch / "b")
    assert failed["out"] == str(out / "b_prediction.ome.zarr")
    damaged = batch / "b" / "layers" / "02.tif"
    assert failed["error"].startswith(f"{damaged}: cannot be decoded")  # b named once
    assert [p.name for p in out.iterdir()] == ["a_prediction.ome.zarr"]  # nothing of b's
    assert captured.err.splitlines() == [
        f"inkloop predict: {failed['error']} (b_prediction.ome.zarr not written; going on "
        "with the other segments)",
        f"inkloop predict: failed: {failed['error']}",
    ]  # and no log or traceback of the workers


def test_keep_going_predicts_the_others_and_lists_the_failed_one(batch, capfd):
    _damage_a_layer(batch / "b")
    assert _predict("b", "a", "--out-dir", "out", "--keep-going") == 1
    _check_keep_going(batch, capfd.readouterr())


@pytest.mark.slow
def test_keep_going_on_a_cluster_gives_up_the_failed_segment_alone(batch, capfd, monkeypatch):
    from inkloop.predict import _batch

    def damaged_once_staged(checkpoint, weights, job, *args):
        staged = real(checkpoint, weights, job, *args)
        if job.segment.name == "b":  # its worker finds it damaged, not this process
            _damage_a_layer(job.segment)
        return staged

    real = _batch._stage
    monkeypatch.setattr(_batch, "_stage", damaged_once_staged)
    command = ["b", "a", "--out-dir", "out", "--keep-going", "--scheduler", "local:1"]
    assert _predict(*command) == 1
    _check_keep_going(batch, capfd.readouterr())


@pytest.mark.parametrize("scheduler", [pytest.param((), id="in-process"), ON_A_CLUSTER])
def test_keep_going_goes_past_segments_refused_as_they_open(batch, capsys, scheduler):
    """A missing layer (b) and a stack thinner than the model's window (d) fail alone: a and
    c are written. Before, either refused the whole batch: nothing written, no summary."""
    save_tiny_checkpoint(batch / "model.pt", depth=6)
    (batch / "b" / "layers" / "03.tif").unlink()
    write_segment(batch / "d", *SIZE, 4, seed=5)
    command = ["a", "b", "d", "c", "--out-dir", "out", "--keep-going", *scheduler]
    assert _predict(*command) == 1
    captured, out = capsys.readouterr(), batch / "out"
    summary = json.loads(captured.out)
    assert summary["written"] == [
        str(out / "a_prediction.ome.zarr"),
        str(out / "c_prediction.ome.zarr"),
    ]
    missing = f"{batch / 'b' / 'layers'}: layer 3 is missing between 02.tif and 04.tif"
    thin = f"{batch / 'd'}: the model reads 6 layers and d has 4: it cannot be used on this segment"
    assert summary["failed"] == [
        {"segment": str(batch / "b"), "out": None, "error": missing},
        {"segment": str(batch / "d"), "out": str(out / "d_prediction.ome.zarr"), "error": thin},
    ]
    assert captured.err.splitlines() == [
        f"inkloop predict: {missing} (not predicted; going on with the other segments)",
        f"inkloop predict: {thin} (d_prediction.ome.zarr not written; going on with the other "
        "segments)",
        f"inkloop predict: failed: {missing}",
        f"inkloop predict: failed: {thin}",
    ]


def test_keep_going_says_only_the_refusal_of_a_batch_refused_as_a_whole(batch, capsys):
    """a's output was made without --tta: the batch with --tta is refused as a whole. Before,
    the missing segment was first said to fail, "going on with the other segments", and
    listed under "failed" of a run that exits 2 (refused, nothing written)."""
    assert _predict("a", "--out-dir", "out", "--format", "png") == 0
    capsys.readouterr()
    command = ["a", "nope", "c", "--out-dir", "out", "--format", "png", "--keep-going", "--tta"]
    assert _predict(*command) == REFUSED
    captured = capsys.readouterr()
    assert json.loads(captured.out)["failed"] == []
    (said,) = captured.err.splitlines()
    assert said.startswith("inkloop predict: error: ")
    assert "finished output" in said
    assert not (batch / "out" / "c_prediction.png").exists()


def test_an_output_written_meanwhile_by_another_run_is_skipped(batch, capsys, monkeypatch):
    import inkloop.headless

    predicted, other = [], batch / "out" / "b_prediction.png"

    def and_another_run_writes_b(segment, *args, **kwargs):
        predicted.append(segment.name)
        other.write_bytes(b"another run's")  # as b's turn comes
        return real(segment, *args, **kwargs)

    real = inkloop.headless.predict_to_file
    monkeypatch.setattr(inkloop.headless, "predict_to_file", and_another_run_writes_b)
    assert _predict("a", "b", "--out-dir", "out", "--format", "png") == 0
    captured = capsys.readouterr()
    assert predicted == ["a"]
    assert other.read_bytes() == b"another run's"
    assert json.loads(captured.out)["skipped"] == [str(other)]
    assert (
        captured.err == f"inkloop predict: {other} was written by another run meanwhile, skipped\n"
    )


def test_an_output_another_run_finishes_while_this_one_loads_its_model_is_skipped(
    batch, capsys, monkeypatch
):
    """Between the look for b's output as its turn comes and this run's claim on it (the
    model loads, the intensities are sampled: seconds), another run finished it: kept, and
    b skipped. It was replaced, though --overwrite was not given."""
    from inkloop.predict import Predictor

    other = batch / "out" / "b_prediction.png"

    def another_run_finishes_b(checkpoint, segment, *args, **kwargs):
        if segment.name == "b":
            other.write_bytes(b"another run's")
        return real(checkpoint, segment, *args, **kwargs)

    real = Predictor.from_checkpoint
    monkeypatch.setattr(Predictor, "from_checkpoint", another_run_finishes_b)
    assert _predict("a", "b", "--out-dir", "out", "--format", "png") == 0
    captured = capsys.readouterr()
    assert other.read_bytes() == b"another run's"
    assert json.loads(captured.out)["skipped"] == [str(other)]
    said = f"inkloop predict: {other} was written by another run meanwhile, skipped\n"
    assert captured.err == said


def test_an_output_another_run_is_writing_is_skipped(batch, capsys):
    from inkloop.predict._outputs import PredictionFile

    (batch / "out").mkdir()
    claimed = batch / "out" / "b_prediction.png"
    other_run = PredictionFile(claimed, "png", SIZE)  # holds the claim on b's output
    try:
        assert _predict("a", "b", "--out-dir", "out", "--format", "png") == 0
    finally:
        other_run.abandon()
    captured = capsys.readouterr()
    assert json.loads(captured.out)["skipped"] == [str(claimed)]
    assert captured.err == f"inkloop predict: {claimed} is being written by another run, skipped\n"
    assert (batch / "out" / "a_prediction.png").is_file()


def test_a_cluster_job_whose_output_appeared_is_skipped_when_staged(batch):
    """On a cluster the output is claimed first, then looked for: no run can finish it after."""
    from inkloop.checkpoint import load_checkpoint
    from inkloop.predict import _batch
    from inkloop.predict.batch import plan_jobs

    (job,) = plan_jobs([batch / "a"], batch / "out", "png")[0]
    (batch / "out" / "a_prediction.png").write_bytes(b"another run's")
    staged = _batch._staged(
        None, load_checkpoint(batch / "model.pt"), batch / "model.pt", job, "cpu", False, None
    )
    assert staged == "was written by another run meanwhile, skipped"
    assert sorted(p.name for p in (batch / "out").iterdir()) == [
        "a_prediction.png"
    ]  # no claim left
    assert (batch / "out" / "a_prediction.png").read_bytes() == b"another run's"
