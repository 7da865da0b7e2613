"""Whatever path names a segment — ".", "..", its layer folder, a level inside its zarr — it
opens under its own name, with its side files, and saves its labels beside them."""

from __future__ import annotations

import json

import numpy as np
import pytest
import tifffile
import zarr

from inkloop._notify import InkloopWarning
from inkloop.cli import main
from inkloop.io import SegmentError, label_paths, open_segment, write_layer


def test_dot_and_dot_dot_name_the_folder_they_stand_for(segment_folder, monkeypatch, capsys):
    monkeypatch.chdir(segment_folder)
    here = open_segment(".")
    monkeypatch.chdir(segment_folder / "layers")
    above = open_segment("..")

    for segment in (here, above):
        assert segment.name == "20231012184423"
        assert segment.path == segment_folder
        assert set(segment.files) == {"mask", "ink_labels"}
        assert label_paths(segment)[0] == segment_folder / "20231012184423_inklabels.png"
    monkeypatch.chdir(segment_folder)
    assert main(["info", "."]) == 0
    assert json.loads(capsys.readouterr().out)["name"] == "20231012184423"


@pytest.mark.parametrize(("layout", "fmt"), [("layers", "vesuvius"), ("surface_volume", "kaggle")])
def test_a_segments_layer_folder_opens_the_segment_and_says_so(tmp_path, layout, fmt):
    folder = tmp_path / "20230702185753"
    for z in range(3):
        write_layer(folder / layout / f"{z:02d}.tif", np.full((8, 12), z, np.uint16))

    with pytest.warns(InkloopWarning, match=f"is the layer folder of the segment {folder.name}"):
        segment = open_segment(folder / layout)

    assert (segment.name, segment.path, segment.format) == (folder.name, folder, fmt)
    assert label_paths(segment)[0] == folder / "20230702185753_inklabels.png"


def test_macos_appledouble_files_beside_the_layers_are_not_layers(segment_folder):
    for z in range(8):  # what a Mac leaves on a FAT or network drive: resource forks
        (segment_folder / "layers" / f"._{z:02d}.tif").write_bytes(b"\x00\x05\x16\x07 Mac")

    segment = open_segment(segment_folder)

    assert segment.shape == (8, 64, 96)
    assert segment.layer_numbers == tuple(range(8))


@pytest.mark.parametrize("suffix", [".ome.tif", ".OME.TIFF", ".tif"])
def test_a_tiff_stack_is_named_without_its_ending(tmp_path, suffix):
    path = tmp_path / f"20231012184423{suffix}"
    tifffile.imwrite(path, np.zeros((3, 8, 12), np.uint8), photometric="minisblack")

    segment = open_segment(path)

    assert segment.name == "20231012184423"
    assert label_paths(segment)[0] == tmp_path / "20231012184423_inklabels.png"


def test_a_level_inside_a_zarr_is_named_and_labelled_as_its_store(tmp_path):
    store = tmp_path / "20231012184423.ome.zarr"
    group = zarr.open_group(store, mode="w")
    group.create_array("0", data=np.zeros((3, 8, 12), np.uint8))
    group.attrs["multiscales"] = [{"datasets": [{"path": "0"}]}]

    segment = open_segment(store / "0")

    assert segment.name == "20231012184423"
    assert label_paths(segment)[0] == tmp_path / "20231012184423_inklabels.png"
    assert segment.shape == (3, 8, 12)


def test_segments_kept_as_arrays_of_one_group_keep_their_own_names_and_labels(tmp_path):
    group = zarr.open_group(tmp_path / "segments.zarr", mode="w")
    for name in ("20230702185753", "20230929220926"):
        group.create_array(name, data=np.zeros((3, 8, 12), np.uint8))

    first, second = (open_segment(tmp_path / "segments.zarr" / n) for n in group.array_keys())

    assert {first.name, second.name} == {"20230702185753", "20230929220926"}
    assert label_paths(first)[0] != label_paths(second)[0]
    assert label_paths(first)[0].parent == tmp_path / "segments.zarr"


@pytest.mark.parametrize(
    ("given", "instead"),
    [
        (
            "s3://vesuvius-challenge-open-data/scroll1/segments/20230827161847.zarr",
            "a public bucket (as the open data's) serves it at "
            "https://vesuvius-challenge-open-data.s3.amazonaws.com/scroll1/segments/20230827161847.zarr",
        ),
        (
            "gs://bucket/segments/a.zarr",
            "a public bucket serves it at https://storage.googleapis.com/bucket/segments/a.zarr",
        ),
        ("ftp://data.example/a.zarr", None),
        ("file:///data/a.zarr", "give its path, /data/a.zarr"),
    ],
)
def test_urls_of_other_schemes_say_only_http_is_read(tmp_path, monkeypatch, capsys, given, instead):
    """Not a local path "s3:/..." (as a path, its "//" was lost) that does not exist."""
    monkeypatch.chdir(tmp_path)
    scheme = given.split(":", 1)[0]
    expected = f"{given}: only http(s):// URLs are read, not {scheme}://"
    if instead:
        expected += f"; {instead}"

    assert main(["info", given]) == 1
    assert capsys.readouterr().err == f"inkloop info: error: {expected}\n"
    with pytest.raises(SegmentError) as raised:
        open_segment(given)
    assert str(raised.value) == expected
