"""What the reader gives napari costs what is shown, not what a file declares: a prediction
stays lazy, and the mask layer is the decoded mask itself."""

from __future__ import annotations

import tracemalloc

import numpy as np
import pytest
import tifffile
import zarr

from inkloop._napari._reader import get_reader, read_prediction, read_segment
from inkloop.io import open_segment


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
    assert getattr(mask.base, "dtype", None) == np.bool_  # a view of it, not a copy


def test_a_folder_with_only_a_meta_json_is_left_to_other_readers(tmp_path):
    (tmp_path / "meta.json").write_text('{"name": "a project"}')  # not a server segment's
    (tmp_path / "notes.txt").write_text("hello")

    assert get_reader(str(tmp_path)) is None
