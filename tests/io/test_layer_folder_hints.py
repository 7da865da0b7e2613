"""A segment folder without ``layers/`` is told the fix that fits what it holds: the zarr of
its layers beside its side files is to be opened; a VC3D surface (tifxyz) not rendered yet is
to be rendered (only where its x/y/z.tif are there to render from); a data server's files are
told to download the layers."""

from __future__ import annotations

import json

import numpy as np
import pytest
import tifffile
import zarr

from inkloop.cli import main
from inkloop.io import SegmentError, detect_format, open_segment, write_png

SHAPE = (3, 16, 24)


def _refusal(folder) -> str:
    assert detect_format(folder) == "vesuvius"  # napari takes it, and says what is missing
    with pytest.raises(SegmentError) as raised:
        open_segment(folder)
    return str(raised.value)


@pytest.mark.parametrize("zarr_name", ["seg.zarr", "seg.ome.zarr", "volume.zarr"])
def test_a_folder_holding_its_zarr_says_to_open_the_zarr(tmp_path, capsys, zarr_name):
    folder = tmp_path / "seg"
    folder.mkdir()
    write_png(folder / "seg_mask.png", np.full(SHAPE[1:], 255, np.uint8))
    zarr.create_array(folder / zarr_name, shape=SHAPE, dtype=np.uint8)

    assert _refusal(folder) == (
        f"{folder}: open {folder / zarr_name} (a zarr of the layers): the folder holds no "
        "layer images"
    )
    assert main(["info", str(folder)]) == 1
    assert capsys.readouterr().err.count("\n") == 1


def test_a_prediction_zarr_is_not_taken_for_the_layers(tmp_path):
    folder = tmp_path / "seg"
    folder.mkdir()
    write_png(folder / "seg_mask.png", np.full(SHAPE[1:], 255, np.uint8))
    zarr.create_array(folder / "seg_prediction.zarr", shape=SHAPE[1:], dtype=np.uint8)

    assert "wget" in _refusal(folder)


@pytest.mark.parametrize("meta", [{"format": "tifxyz", "type": "seg"}, {"format": "tifxyz"}])
def test_a_vc3d_surface_without_layers_says_to_render_them(tmp_path, capsys, meta):
    folder = tmp_path / "surface"
    folder.mkdir()
    for axis in "xyz":
        tifffile.imwrite(folder / f"{axis}.tif", np.ones((4, 6), np.float32))
    tifffile.imwrite(folder / "mask.tif", np.full((4, 6), 255, np.uint8))
    (folder / "meta.json").write_text(json.dumps({**meta, "scale": [0.25, 0.25]}))

    assert _refusal(folder) == (
        f"{folder}: no layers/ folder: this VC3D surface (tifxyz) has no rendered layers yet; "
        f"render them into {folder / 'layers'} with VC3D's Render segment, or: "
        f"vc_render_tifxyz --volume VOLUME.zarr --group-idx 0 --scale 1 --num-slices 65 "
        f"--segmentation {folder} --tif-output {folder / 'layers'} (VOLUME.zarr: the scroll "
        "volume it was traced in; either way, their order follows how the surface was traced: "
        "if `inkloop check --model M` then says the layers look reversed, --reverse reads them "
        "the other way)"
    )  # no --flip-normals: some vc_render_tifxyz builds lack it (closing review C21, finding 3)
    assert main(["info", str(folder)]) == 1
    assert capsys.readouterr().err.count("\n") == 1


def _server_segment(folder, grid: bool):
    """A segment as a data server publishes one traced in VC3D: its meta.json (tifxyz), mask
    and mesh, no layers; with ``grid``, its x/y/z.tif too."""
    folder.mkdir()
    (folder / "meta.json").write_text(json.dumps({"format": "tifxyz", "type": "seg"}))
    write_png(folder / f"{folder.name}_mask.png", np.full(SHAPE[1:], 255, np.uint8))
    (folder / f"{folder.name}.obj").write_text("v 0 0 0\n")
    for axis in "xyz" if grid else "":
        tifffile.imwrite(folder / f"{axis}.tif", np.ones((4, 6), np.float32))


def test_a_server_segment_of_a_vc3d_surface_without_its_grid_is_told_to_download(tmp_path):
    folder = tmp_path / "20250102"
    _server_segment(folder, grid=False)

    said = _refusal(folder)

    assert said.startswith(f"{folder}: no layers/ folder: this holds the data server's files")
    assert "wget" in said
    assert "render" not in said


def test_a_server_segment_with_its_grid_is_told_to_render_or_download(tmp_path):
    folder = tmp_path / "20250101"
    _server_segment(folder, grid=True)

    said = _refusal(folder)

    assert said.startswith(f"{folder}: no layers/ folder: this VC3D surface (tifxyz) has no")
    assert "vc_render_tifxyz" in said
    assert said.endswith(
        "; or, if it came from a data server with its files (meta.json, 20250101_mask.png, "
        f'20250101.obj): wget -r -np -nd -R "index.html*" -P {folder / "layers"} '
        "SEGMENT_URL/layers/ (SEGMENT_URL: the server folder these files came from)"
    )
