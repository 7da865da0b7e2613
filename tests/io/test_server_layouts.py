"""Segment folders as the data server (dl.ash2txt.org) lays them out and as downloads leave
them: the texture ``<id>.tif`` beside the layers is no layer, a folder without its layers
says how to get them, and the server's own names for masks and folders find their files."""

from __future__ import annotations

import json
import warnings
from types import SimpleNamespace

import numpy as np
import pytest
import tifffile

from inkloop._notify import InkloopWarning
from inkloop.cli import main
from inkloop.io import (
    SegmentError,
    autosaved_labels,
    checkpoint_path,
    detect_format,
    label_paths,
    open_segment,
    rounds_path,
    write_layer,
    write_png,
)

ID = "20230827161847"
SHAPE = (4, 16, 24)


def _side_files(folder, name=ID, mask="mask", texture=True) -> None:
    """The files the server keeps beside a segment's layers: texture, mask, labels, mesh."""
    folder.mkdir(parents=True, exist_ok=True)
    if texture:
        write_layer(folder / f"{name}.tif", np.full(SHAPE[1:], 7, np.uint16))
    papyrus = np.zeros(SHAPE[1:], np.uint8)
    papyrus[2:14, 3:20] = 255
    write_png(folder / f"{name}_{mask}.png", papyrus)
    write_png(folder / f"{name}_inklabels.png", np.zeros(SHAPE[1:], np.uint8))
    (folder / f"{name}.obj").write_text("v 0 0 0\n")


def _layers(folder, count=SHAPE[0], name=lambda z: f"{z:02d}.tif") -> None:
    for z in range(count):
        write_layer(folder / name(z), np.full(SHAPE[1:], 1000 * z, np.uint16))


@pytest.mark.parametrize("folder_name", [ID, "download"])
def test_a_flattened_download_opens_without_its_texture(tmp_path, folder_name):
    """``wget -nd`` puts the layers beside ``<id>.tif`` (the texture), in a folder named
    after the segment or in whatever folder it ran in."""
    folder = tmp_path / folder_name
    _side_files(folder)
    _layers(folder)

    with warnings.catch_warnings(record=True) as told:
        warnings.simplefilter("always")
        segment = open_segment(folder)

    assert segment.shape == SHAPE
    assert segment.layer_numbers == tuple(range(SHAPE[0]))
    assert int(segment.volume[-1, 0, 0].compute()) == 1000 * (SHAPE[0] - 1)
    assert (segment.name, set(segment.files)) == (ID, {"mask", "ink_labels"})
    renamed = [str(w.message) for w in told if issubclass(w.category, InkloopWarning)]
    assert renamed == (
        []
        if folder_name == ID
        else [f"{folder}: its side files are named for {ID}: opened as segment {ID}"]
    )


def test_layers_numbered_like_their_folder_stay_layers(tmp_path):
    folder = tmp_path / "1"  # a Kaggle fragment's number, layers 0.tif, 1.tif, ...
    _layers(folder, name=lambda z: f"{z}.tif")

    assert open_segment(folder).layer_numbers == tuple(range(SHAPE[0]))


@pytest.mark.parametrize("kept", [f"{ID}.tif", "meta.json", f"{ID}.obj", f"{ID}_mask.png"])
def test_a_server_segment_without_its_layers_says_how_to_get_them(tmp_path, capsys, kept):
    folder = tmp_path / ID
    _side_files(folder)
    (folder / "meta.json").write_text(json.dumps({"type": "seg", "uuid": ID}))
    for path in folder.iterdir():
        if path.name != kept:
            path.unlink()

    assert detect_format(folder) == "vesuvius"  # napari takes it, and says what is missing
    with pytest.raises(SegmentError) as raised:
        open_segment(folder)
    assert str(raised.value) == (
        f"{folder}: no layers/ folder: this holds the data server's files of segment {ID} "
        f'({kept}) but not its layers; download them into it: wget -r -np -nd -R "index.html*" '
        f"-P {folder / 'layers'} SEGMENT_URL/layers/ (SEGMENT_URL: the server folder these "
        "files came from)"
    )
    assert main(["info", str(folder)]) == 1
    assert capsys.readouterr().err.count("\n") == 1


@pytest.mark.parametrize(("os_name", "quoted"), [("posix", "'{}'"), ("nt", '"{}"')])
def test_the_download_hint_quotes_its_folder_for_the_platforms_shell(
    tmp_path, monkeypatch, os_name, quoted
):
    from inkloop import _command

    folder = tmp_path / "my scans" / ID
    _side_files(folder)
    monkeypatch.setattr(_command, "os", SimpleNamespace(name=os_name))
    with pytest.raises(SegmentError, match="wget") as raised:
        open_segment(folder)
    assert f"-P {quoted.format(folder / 'layers')} SEGMENT_URL" in str(raised.value)


def test_a_flat_mask_is_the_mask_where_there_is_no_other(tmp_path):
    folder = tmp_path / ID
    _side_files(folder, mask="flat_mask")
    _layers(folder / "layers")

    segment = open_segment(folder)
    assert segment.files["mask"] == folder / f"{ID}_flat_mask.png"
    assert int(np.asarray(segment.mask).sum()) == 12 * 17

    write_png(folder / f"{ID}_mask.png", np.full(SHAPE[1:], 255, np.uint8))
    assert open_segment(folder).files["mask"] == folder / f"{ID}_mask.png"


@pytest.mark.parametrize(
    ("folder_name", "name"),
    [
        (f"{ID}_superseded", ID),  # the server's own renaming: the files keep the id
        ("working_mesh_window_900000_1000000", "mesh_window_900000_1000000"),  # Thaumato
        ("working_mesh_window_900000_1000000_1", "mesh_window_900000_1000000"),  # of Scroll 1
    ],
)
def test_renamed_server_folders_find_the_files_named_for_their_id(tmp_path, folder_name, name):
    folder = tmp_path / folder_name
    _side_files(folder, name, texture=False)
    _layers(folder / "layers")

    with pytest.warns(InkloopWarning, match=f"named for {name}: opened as segment {name}$"):
        segment = open_segment(folder)

    assert segment.name == name
    assert segment.files == {
        "mask": folder / f"{name}_mask.png",
        "ink_labels": folder / f"{name}_inklabels.png",
    }
    assert label_paths(segment)[0] == folder / f"{name}_inklabels.png"


@pytest.mark.parametrize("folder_name", [f"{ID}_superseded", "myseg"])  # the user's renaming
@pytest.mark.parametrize("own", ["labels", "model", "rounds"])
def test_inkloops_work_under_a_renamed_folders_name_keeps_that_name(tmp_path, folder_name, own):
    """Earlier versions named such a segment after its folder and kept its work so: that
    work is found again (only saved labels did so before)."""
    folder = tmp_path / folder_name
    _side_files(folder)  # <id>.tif names the id of a folder that does not
    _layers(folder / "layers")
    old = {
        "labels": [
            f"{folder_name}_inklabels.autosave.png",
            f"{folder_name}_supervision_mask.autosave.png",
        ],
        "model": [f"{folder_name}_inkloop_model.pt"],
        "rounds": [f"{folder_name}_rounds.jsonl"],
    }[own]
    for name in old:
        (folder / name).touch()  # only the names count

    with warnings.catch_warnings():
        warnings.simplefilter("error", InkloopWarning)  # no "opened as segment <id>"
        segment = open_segment(folder)

    assert segment.name == folder_name
    found = {
        "labels": autosaved_labels(segment),
        "model": (checkpoint_path(segment),),
        "rounds": (rounds_path(segment),),
    }[own]
    assert [path.name for path in found] == old
    assert all(path.is_file() for path in found)


@pytest.mark.parametrize("fmt", ["png", "tif"])
def test_a_prediction_under_a_renamed_folders_name_does_not_hide_its_mask(tmp_path, fmt):
    """A prediction can be made again: it is no work that keeps the folder's name, and
    keeping it would lose the server's mask and labels, named for the id."""
    folder = tmp_path / f"working_{ID}"
    _side_files(folder, texture=False)
    _layers(folder / "layers")
    (folder / f"working_{ID}_prediction.{fmt}").touch()  # only the name counts

    with pytest.warns(InkloopWarning, match=f"opened as segment {ID}$"):
        segment = open_segment(folder)

    assert segment.name == ID
    assert int(np.asarray(segment.mask).sum()) == 12 * 17
    assert segment.files["ink_labels"] == folder / f"{ID}_inklabels.png"


def test_a_folder_holding_a_stack_says_to_open_the_stack(tmp_path, capsys):
    """A multi-page ``<id>.tif`` is the segment, not a server texture missing its layers."""
    folder = tmp_path / "stack"
    _side_files(folder, texture=False)
    tifffile.imwrite(folder / f"{ID}.tif", np.zeros(SHAPE, np.uint16), photometric="minisblack")

    with pytest.raises(SegmentError) as raised:
        open_segment(folder)

    assert str(raised.value) == (
        f"{folder}: open {folder / f'{ID}.tif'} (a stack of {SHAPE[0]} layers): the folder "
        "holds no layer images"
    )
    assert main(["info", str(folder)]) == 1
    assert capsys.readouterr().err.count("\n") == 1
    assert open_segment(folder / f"{ID}.tif").files["mask"] == folder / f"{ID}_mask.png"


@pytest.mark.parametrize("meta", ["{}", '{"type": "project"}', "[1]", "not json"])
def test_a_meta_json_alone_is_no_server_segment(tmp_path, meta):
    folder = tmp_path / "project"
    folder.mkdir()
    (folder / "meta.json").write_text(meta)
    (folder / "notes.txt").write_text("hello")

    assert detect_format(folder) is None  # napari tries other readers


def test_a_thaumato_folders_plain_labels_are_found(tmp_path):
    folder = tmp_path / "working_mesh_window_900000_1000000"
    _side_files(folder, "mesh_window_900000_1000000", texture=False)
    (folder / "mesh_window_900000_1000000_inklabels.png").rename(folder / "inklabels.png")
    _layers(folder / "layers")

    with pytest.warns(InkloopWarning):
        segment = open_segment(folder)

    assert segment.files["ink_labels"] == folder / "inklabels.png"
    assert segment.files["mask"] == folder / "mesh_window_900000_1000000_mask.png"


def test_info_names_side_files_of_another_id(segment_folder, tmp_path, capsys):
    renamed = segment_folder.rename(tmp_path / "sample")

    assert main(["info", str(renamed)]) == 0

    captured = capsys.readouterr()
    assert json.loads(captured.out)["has_mask"] is False
    (line,) = captured.err.splitlines()
    assert line.startswith("inkloop info: sample: 20231012184423_inklabels.png, ")
    assert "rename them to use them (2 files), as `cd " in line
