"""Reader contribution: segments open as layers in a real viewer; other files are declined."""

from __future__ import annotations

import numpy as np
import pytest
import tifffile
import zarr

from inkloop._napari._reader import get_reader, read_segment, segment_path
from inkloop.brush import decode_labels
from inkloop.io import open_segment
from tests.io._lookalikes import write_lookalikes


def test_get_reader_declines_files_it_does_not_understand(tmp_path):
    (tmp_path / "notes.txt").write_text("not a segment")
    tifffile.imwrite(tmp_path / "photo.tif", np.zeros((16, 16), np.uint8))
    (tmp_path / "empty").mkdir()

    assert get_reader(str(tmp_path / "notes.txt")) is None
    assert get_reader(str(tmp_path / "photo.tif")) is None
    assert get_reader(str(tmp_path / "empty")) is None
    assert get_reader([str(tmp_path / "a.tif"), str(tmp_path / "b.tif")]) is None


def test_get_reader_declines_what_looks_like_a_segment_by_its_name_alone(tmp_path):
    for path in write_lookalikes(tmp_path):  # a colour TIFF stack, a 2D zarr, photos…
        # a 2D zarr is a prediction only if `inkloop predict` marked it (test_prediction_claim)
        assert get_reader(str(path)) is None, path.name


def test_a_single_page_tiff_opens_without_napari_asking_which_reader(make_napari_viewer, tmp_path):
    path = tmp_path / "photo.tif"
    tifffile.imwrite(path, np.arange(64, dtype=np.uint8).reshape(8, 8))
    viewer = make_napari_viewer()

    # plugin=None as File > Open and a drop ask: MultipleReaderError (napari's dialog) if
    # this plugin took every *.tif
    (layer,) = viewer.open(str(path), plugin=None)

    np.testing.assert_array_equal(layer.data, tifffile.imread(path))


@pytest.mark.parametrize(
    ("name", "limits"), [("s_prediction.zarr", (127 / 255, 1)), ("s_prediction.tif", (127, 255))]
)
def test_predictions_the_cli_writes_open_as_predictions(make_napari_viewer, tmp_path, name, limits):
    import dask.array as da

    from inkloop.predict import write_prediction

    probability = da.linspace(0, 1, 48 * 64, chunks=1024).reshape(48, 64).astype(np.float32)
    out = write_prediction(probability, tmp_path / name, progress=False)
    viewer = make_napari_viewer()

    (layer,) = viewer.open(str(out), plugin="napari-inkloop")

    assert layer.name == "s_prediction"
    assert (layer.colormap.name, tuple(layer.contrast_limits)) == ("inferno", limits)
    assert layer.data.shape == (48, 64)


def test_dropping_a_segment_folder_opens_volume_mask_and_labels(make_napari_viewer, segment_folder):
    viewer = make_napari_viewer()

    layers = viewer.open(str(segment_folder), plugin="napari-inkloop")
    segment = open_segment(segment_folder)

    assert [layer.name for layer in layers] == [
        "20231012184423",
        "20231012184423 mask",
        "ink labels",
    ]
    volume, mask, labels = layers
    assert volume.data.shape == (8, 64, 96)
    assert volume.ndim == 3
    assert viewer.dims.nsteps[0] == 8  # a z slider over the layers
    assert viewer.dims.axis_labels[0] == "layer"  # named as the slider is: not "-3"
    assert segment_path(volume) == segment_folder
    low, high = volume.contrast_limits
    papyrus = np.asarray(volume.data[4])[np.asarray(mask.data) > 0]
    assert np.percentile(papyrus, 1) <= high
    assert low <= np.percentile(papyrus, 99)
    assert low > 0.5 * np.percentile(papyrus, 1)  # air outside the mask did not drag it down
    assert mask.__class__.__name__ == "Labels"
    assert set(np.unique(mask.data)) == {0, 1}
    assert labels.__class__.__name__ == "Labels"
    ink, supervised = decode_labels(labels.data)
    np.testing.assert_array_equal(ink[supervised], np.asarray(segment.ink_labels)[supervised])
    np.testing.assert_array_equal(supervised, np.asarray(segment.mask))  # no supervision file
    assert labels.opacity == 0.35  # labelled whole: fainter, so a prediction shows through


def test_a_segments_layer_folder_opens_the_segment_and_says_so(make_napari_viewer, segment_folder):
    from napari.utils.notifications import notification_manager

    viewer = make_napari_viewer()
    shown = len(notification_manager.records)
    with notification_manager:  # as napari.run() does: warnings become notifications
        layers = viewer.open(str(segment_folder / "layers"), plugin="napari-inkloop")

    assert [layer.name for layer in layers][:2] == ["20231012184423", "20231012184423 mask"]
    assert segment_path(layers[0]) == segment_folder
    messages = [record.message for record in notification_manager.records[shown:]]
    assert messages == [
        f"{segment_folder / 'layers'} is the layer folder of the segment 20231012184423: "
        f"opened {segment_folder}"
    ]


def test_a_large_segment_shows_as_a_pyramid_of_tiles_napari_reads_in_view(
    make_napari_viewer, segment_folder, monkeypatch
):
    from inkloop._napari import _pyramid

    monkeypatch.setattr(_pyramid, "DISPLAY_LEVEL_MIN", 24)  # as 1024 is to a whole segment
    viewer = make_napari_viewer()

    volume = viewer.open(str(segment_folder), plugin="napari-inkloop")[0]

    stack = np.asarray(open_segment(segment_folder).volume)
    assert volume.multiscale
    assert [level.shape for level in volume.data] == [(8, 64, 96), (8, 32, 48), (8, 16, 24)]
    assert [level.chunksize for level in volume.data] == [(1, 24, 24), (1, 24, 24), (1, 16, 24)]
    np.testing.assert_array_equal(
        np.asarray(volume.data[1][5, 3:17, 8:40]), stack[5, 6:34:2, 16:80:2]
    )
    np.testing.assert_array_equal(np.asarray(volume.data[0][2]), stack[2])

    from inkloop.io._raw import RawArray

    reads, read = [], RawArray.__getitem__
    monkeypatch.setattr(
        RawArray, "__getitem__", lambda array, key: reads.append(key) or read(array, key)
    )
    np.testing.assert_array_equal(
        np.asarray(volume.data[0][3, 10:40, 20:70]), stack[3, 10:40, 20:70]
    )
    assert len(reads) == 6  # the six tiles of 24² it touches, each read on its own
    assert all(len(range(*rows.indices(64))) <= 24 for rows, _ in reads)


def test_multipage_tiff_opens_through_get_reader(make_napari_viewer, tmp_path, synthetic):
    from inkloop._napari._reader import add_layers

    path = tmp_path / "stack.tif"
    tifffile.imwrite(path, synthetic.volume)
    viewer = make_napari_viewer()

    assert get_reader(str(path)) is read_segment
    layer, labels = add_layers(viewer, read_segment(str(path)))  # the dock's open; napari.yaml
    # leaves *.tif to napari

    assert layer.data.shape == synthetic.volume.shape
    assert labels.data.shape == synthetic.volume.shape[1:]
    assert not labels.data.any()  # nothing labelled yet, ready to paint
    np.testing.assert_array_equal(np.asarray(layer.data[2]), synthetic.volume[2])


def test_ome_zarr_opens_as_a_multiscale_layer(make_napari_viewer, tmp_path, synthetic):
    path = tmp_path / "scan.zarr"
    group = zarr.open_group(path, mode="w")
    group.create_array("0", data=synthetic.volume, chunks=(1, 32, 32))
    group.create_array("1", data=synthetic.volume[:, ::2, ::2], chunks=(1, 32, 32))
    group.attrs["multiscales"] = [{"datasets": [{"path": "0"}, {"path": "1"}]}]
    viewer = make_napari_viewer()

    layer, _labels = viewer.open(str(path), plugin="napari-inkloop")

    assert layer.multiscale
    assert [level.shape for level in layer.data] == [(8, 64, 96), (8, 32, 48)]


def test_a_prediction_pyramid_opens_as_one_multiscale_image(make_napari_viewer, tmp_path):
    import dask.array as da

    from inkloop.predict import write_prediction

    probability = da.random.default_rng(0).random((2500, 3000), dtype=np.float32, chunks=2048)
    out = write_prediction(probability, tmp_path / "s_prediction.ome.zarr", progress=False)
    assert get_reader(str(out)) is not None
    viewer = make_napari_viewer()

    (layer,) = viewer.open(str(out), plugin="napari-inkloop")

    assert layer.name == "s_prediction"
    assert layer.multiscale
    assert [level.shape for level in layer.data] == [(2500, 3000), (1250, 1500), (625, 750)]
    assert (layer.colormap.name, tuple(layer.contrast_limits)) == ("inferno", (127, 255))
    assert tuple(layer.translate) == (0, 0)

    region = write_prediction(  # a region's prediction lies over the region
        probability[:600, :700], tmp_path / "r.ome.zarr", progress=False, origin=(100, 200)
    )
    (layer,) = viewer.open(str(region), plugin="napari-inkloop")
    assert tuple(layer.translate) == (100, 200)


def test_a_renamed_segment_folder_says_which_files_it_ignores(
    make_napari_viewer, segment_folder, tmp_path
):
    from napari.utils.notifications import notification_manager

    viewer = make_napari_viewer()
    renamed = segment_folder.rename(tmp_path / "sample")
    shown = len(notification_manager.records)
    viewer.open(str(renamed), plugin="napari-inkloop")
    messages = [record.message for record in notification_manager.records[shown:]]
    assert any("20231012184423_mask.png" in m and "sample_" in m for m in messages), messages


def test_a_probability_map_as_the_segments_labels_opens_with_a_warning(
    make_napari_viewer, segment_folder
):
    from napari.utils.notifications import notification_manager
    from PIL import Image

    from inkloop.io import label_paths

    segment = open_segment(segment_folder)
    soft = np.full(segment.shape[1:], 90, np.uint8)  # a model's map: grey everywhere
    labels_file, supervision_file = label_paths(segment)
    Image.fromarray(soft).save(labels_file)
    Image.fromarray(np.full(soft.shape, 255, np.uint8)).save(supervision_file)
    viewer = make_napari_viewer()
    shown = len(notification_manager.records)
    viewer.open(str(segment_folder), plugin="napari-inkloop")
    messages = [record.message for record in notification_manager.records[shown:]]
    assert messages == [
        f"Ink Loop: {labels_file}: 100% of the labelled pixels are grey (soft ink): it looks "
        "like a probability map, which as labels teaches faint ink everywhere. To label from "
        f"it instead, move {segment.name}_inklabels*.png out of {segment_folder} (the map "
        f"renamed, e.g. to {segment.name}_prediction.png), open the segment again and use "
        "Guide → Load prediction as labels…"
    ]
    ink, supervised = decode_labels(viewer.layers["ink labels"].data)
    np.testing.assert_array_equal(ink, soft)  # loaded as it is: the user decides
    assert supervised.all()


def test_an_autosaved_copy_passed_over_for_newer_saved_labels_is_mentioned(
    make_napari_viewer, segment_folder
):
    import os
    from pathlib import Path

    from napari.utils.notifications import notification_manager

    from inkloop.io import label_paths, save_labels

    segment = open_segment(segment_folder)
    painted = np.asarray(segment.ink_labels) // 2, np.ones(segment.shape[1:], bool)
    save_labels(segment, *painted, autosave=True)  # strokes after a Save, then the saved
    for path in filter(Path.is_file, label_paths(segment)):  # files came back newer (a copy)
        os.utime(path, ns=(path.stat().st_mtime_ns + 10**9,) * 2)
    viewer = make_napari_viewer()
    shown = len(notification_manager.records)

    (*_, labels) = viewer.open(str(segment_folder), plugin="napari-inkloop")

    assert [record.message for record in notification_manager.records[shown:]] == [
        "Ink Loop: "
        f"{segment.name}: opened {label_paths(segment)[0]}, newer than the autosaved copy "
        f"{segment.name}_inklabels.autosave.png beside it (strokes painted after a Save, or "
        "left by an earlier version); Load labels… takes that copy instead"
    ]
    np.testing.assert_array_equal(decode_labels(labels.data)[0], np.asarray(segment.ink_labels))
