"""A batch's outputs never touch any segment of the batch (not only their own): refused in
one line before anything is made, with and without --overwrite; an out-dir beside the
segments, or a layered segment's folder, still takes every output."""

from __future__ import annotations

import pytest
import tifffile
import zarr

from inkloop._cli_predict import REFUSED
from inkloop.cli import main
from inkloop.predict.batch import plan_jobs
from inkloop.synthetic import make_segment, write_segment
from tests._helpers import NEVER_REPLACES_INPUTS, folder_contents, save_tiny_checkpoint


@pytest.mark.parametrize(
    ("fmt", "other", "what"),
    [("tif", "a_prediction.tif", "the TIFF stack"), ("zarr", "a_prediction.zarr", "the zarr")],
)
def test_an_output_that_is_another_segment_of_the_batch_is_refused(
    tmp_path, monkeypatch, capsys, fmt, other, what
):
    """Segment a's output, out/a_prediction.<fmt>, is the other segment's volume: before, it
    was skipped as a finished output (or replaced with --overwrite, then read as a layer)."""
    monkeypatch.chdir(tmp_path)
    write_segment(tmp_path / "a", 64, 64, 8, seed=3)
    volume = make_segment(64, 64, 8, seed=4).volume
    (tmp_path / "out").mkdir()
    if fmt == "tif":
        tifffile.imwrite(tmp_path / "out" / other, volume)
    else:
        zarr.create_array(tmp_path / "out" / other, data=volume, chunks=(4, 32, 32))
    save_tiny_checkpoint(tmp_path / "model.pt")
    before = folder_contents(tmp_path)
    command = ["predict", "a", f"out/{other}", "--model", "model.pt", "--out-dir", "out"]
    for extra in ([], ["--overwrite"]):
        status = main([*command, "--format", fmt, "--device", "cpu", "--quiet", *extra])
        assert status == REFUSED
        assert capsys.readouterr().err == (
            f"inkloop predict: error: {tmp_path}/out/{other} is {what} of segment "
            f"a_prediction; {NEVER_REPLACES_INPUTS}\n"
        )
        assert folder_contents(tmp_path) == before


def test_an_out_dir_beside_the_segments_or_in_a_layered_one_takes_every_output(
    tmp_path, monkeypatch, synthetic
):
    """A URL segment has no local volume, a layered segment's folder keeps outputs beside
    its layers, a plain folder of layers keeps them beside its images."""
    from tests._http import serve, write_served_segment

    monkeypatch.setenv("INKLOOP_DATA", str(tmp_path / "home"))
    (tmp_path / "served").mkdir()
    write_served_segment(tmp_path / "served", "seg", synthetic)
    layered = write_segment(tmp_path / "layered", 64, 64, 8, seed=3)
    flat = tmp_path / "flat"
    (write_segment(tmp_path / "x", 64, 64, 8, seed=4) / "layers").rename(flat)
    with serve(tmp_path / "served") as (base, _server):
        segments = [f"{base}/seg.zarr", layered, flat]
        for out_dir in (tmp_path / "out", layered, flat):
            jobs, skipped = plan_jobs(segments, out_dir, "tif")
            assert [job.out.name for job in jobs] == [
                "seg_prediction.tif",
                "layered_prediction.tif",
                "flat_prediction.tif",
            ]
            assert {job.out.parent for job in jobs} == {out_dir}
            assert not skipped
