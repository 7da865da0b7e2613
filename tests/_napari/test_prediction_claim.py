"""The reader shows as a prediction only what `inkloop predict` wrote: another 2-D zarr (an
image of any type) is left to napari's own readers, not shown as an inferno overlay whose
0..1 contrast would saturate it."""

from __future__ import annotations

import dask.array as da
import numpy as np
import pytest
import zarr

from inkloop._napari._reader import get_reader, read_prediction
from inkloop.predict import write_prediction


@pytest.mark.parametrize("zarr_format", [2, 3])
@pytest.mark.parametrize("dtype", [np.uint16, np.float32])
def test_a_2d_zarr_not_written_by_inkloop_is_not_claimed(tmp_path, zarr_format, dtype):
    path = tmp_path / "image.zarr"
    image = np.arange(48 * 64, dtype=dtype).reshape(48, 64)
    zarr.create_array(path, data=image, zarr_format=zarr_format).attrs["units"] = "um"

    assert get_reader(str(path)) is None


def test_a_zarr_prediction_inkloop_wrote_is_claimed(tmp_path):
    probability = da.linspace(0, 1, 48 * 64, chunks=1024).reshape(48, 64).astype(np.float32)
    out = write_prediction(probability, tmp_path / "s_prediction.zarr", progress=False)

    assert get_reader(str(out)) is read_prediction


def test_a_zarr_prediction_from_before_the_origin_attribute_is_claimed_by_its_name(tmp_path):
    path = tmp_path / "s_prediction.zarr"  # inkloop predict's name; no inkloop_origin yet
    zarr.create_array(path, data=np.full((48, 64), 0.5, np.float32))

    assert get_reader(str(path)) is read_prediction
