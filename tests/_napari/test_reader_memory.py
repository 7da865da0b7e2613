"""What the reader gives napari costs what is shown, not what a file declares: a prediction
stays lazy, and the mask layer is the decoded mask itself."""

from __future__ import annotations

import tracemalloc

import numpy as np
import pytest
import tifffile
import zarr
from PIL import Image

from inkloop._napari._reader import (
    get_reader,
    read_prediction,
    read_segment,
    sample_contrast_limits,
)
from inkloop._napari._side_images import decoded_side_images
from inkloop.io import open_segment
from tests._helpers import traced_peak


def _declared_zarr(path):
    # not one chunk written: a few hundred bytes
    zarr.create_array(path, shape=(30000, 30000), dtype="float32", chunks=(1024, 1024))


def _declared_tiff(path):
    # a sparse file: the pixels take no disk until written
    pixels = tifffile.memmap(path, shape=(30000, 30000), dtype="float32")
    del pixels  # the map closes; the file keeps its size


@pytest.mark.parametrize(
    ("name", "write"),
    [("gift_prediction.zarr", _declared_zarr), ("gift_prediction.tif", _declared_tiff)],
)
def test_a_tiny_prediction_file_declaring_a_huge_image_opens_lazily(tmp_path, name, write):
    import dask.array as da

    path = tmp_path / name  # 30000 x 30000 float32 (3.6 GB) declared
    write(path)
    assert get_reader(str(path)) is read_prediction
    tracemalloc.start()
    try:
        ((data, kwargs, kind),) = read_prediction(str(path))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()

    assert kind == "image"
    assert kwargs["multiscale"]  # napari reads the tiles on screen of one level, not all
    assert all(isinstance(level, da.Array) for level in data)
    assert [level.shape for level in data][:2] == [(30000, 30000), (15000, 15000)]
    assert min(data[-1].shape) >= 1024  # the coarsest level still fills a view
    assert peak < 64 << 20


def test_the_mask_layer_is_the_decoded_mask_itself(segment_folder):
    segment = open_segment(segment_folder)

    mask = next(
        data for data, kwargs, _ in read_segment(str(segment_folder)) if "mask" in kwargs["name"]
    )

    assert mask.dtype == np.uint8
    np.testing.assert_array_equal(mask, np.asarray(segment.mask))
    assert not mask.flags.owndata  # a view of it, not a copy


def test_a_folder_with_only_a_meta_json_is_left_to_other_readers(tmp_path):
    (tmp_path / "meta.json").write_text('{"name": "a project"}')  # not a server segment's
    (tmp_path / "notes.txt").write_text("hello")

    assert get_reader(str(tmp_path)) is None


def _sparse_layers(folder, shape, depth=8):
    """A server-layout segment of uncompressed uint8 TIFF layers that take no disk (sparse)."""
    (folder / "layers").mkdir(parents=True)
    for z in range(depth):
        tifffile.memmap(folder / "layers" / f"{z:02d}.tif", shape=shape, dtype=np.uint8)
    return folder


def test_the_contrast_limits_read_their_windows_not_whole_layers(tmp_path):
    shape = (4000, 6000)  # 24 MB a layer; the limits look at three 1024² windows
    segment = open_segment(_sparse_layers(tmp_path / "20990101000000", shape))
    sample_contrast_limits(segment, None)  # first calls import and cache what they use

    limits, peak = traced_peak(lambda: sample_contrast_limits(segment, None))

    assert limits == (0.0, 1.0)  # sparse layers read as zeros
    assert peak < shape[0] * shape[1] // 2  # was over 3 x 1024² + one whole layer


def test_the_mask_is_decoded_into_the_layer_without_a_copy(tmp_path):
    shape = (4000, 3000)
    folder = _sparse_layers(tmp_path / "20990101000000", shape, depth=2)
    papyrus = np.zeros(shape, bool)
    papyrus[500:3500, 300:2700] = True
    Image.fromarray(papyrus).save(folder / "20990101000000_mask.png")  # 1-bit, as servers'
    segment = open_segment(folder)
    decoded_side_images(segment)  # first calls import and cache what they use

    sides, peak = traced_peak(lambda: decoded_side_images(segment))

    assert sides.restored is None
    np.testing.assert_array_equal(sides.segment.mask, papyrus)
    # was 2x: dask's copy of the decoded array (and the decode's own bytes before F10)
    assert peak < 1.5 * papyrus.nbytes


def test_a_segment_without_labels_opens_with_zeros_not_encoded_ones(unlabelled_folder, monkeypatch):
    def encode(*_):
        raise AssertionError("two zero images encoded: seconds and GBs at full size")

    monkeypatch.setattr("inkloop._napari._labels.encode_labels", encode)
    segment = open_segment(unlabelled_folder)

    *_, (codes, kwargs, kind) = read_segment(str(unlabelled_folder))

    assert (kwargs["name"], kind) == ("ink labels", "labels")
    assert codes.dtype == np.uint16
    assert codes.shape == segment.shape[1:]
    assert not codes.any()
    assert kwargs["opacity"] == 0.7
