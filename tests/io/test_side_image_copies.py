"""A segment's side images (mask, ink labels, supervision) computed whole are the decoded
image itself: dask's compute copies even a one-chunk array, which held a full-size side image
twice (0.6 GB more for a 20000 x 30000 mask) in the engine, `inkloop predict` and the dock."""

from __future__ import annotations

import pickle

import numpy as np
import pytest
from PIL import Image

from inkloop.io import open_segment
from tests._helpers import traced_peak

SHAPE = (4000, 3000)
SEGMENT_ID = "20990101000000"


def _segment_folder(folder, shape=SHAPE):
    """A server-layout segment of two sparse layers, a 1-bit mask and 8-bit ink labels;
    the mask and the ink labels' values."""
    import tifffile

    (folder / "layers").mkdir(parents=True)
    for z in range(2):
        tifffile.memmap(folder / "layers" / f"{z:02d}.tif", shape=shape, dtype=np.uint8)
    papyrus = np.zeros(shape, bool)
    papyrus[shape[0] // 8 : -shape[0] // 8, shape[1] // 10 : -shape[1] // 10] = True
    ink = np.zeros(shape, np.uint8)
    ink[::9, ::4] = 255
    ink[1::9, ::4] = 128
    Image.fromarray(papyrus).save(folder / f"{SEGMENT_ID}_mask.png")
    Image.fromarray(ink).save(folder / f"{SEGMENT_ID}_inklabels.png")
    return papyrus, ink


@pytest.mark.parametrize("pickled", [False, True], ids=["opened", "pickled"])
@pytest.mark.parametrize("name", ["mask", "ink_labels"])
def test_a_side_image_computed_whole_is_not_copied(tmp_path, name, pickled):
    papyrus, ink = _segment_folder(tmp_path / SEGMENT_ID)
    segment = open_segment(tmp_path / SEGMENT_ID)
    if pickled:  # as dask workers and spawned processes get it
        segment = pickle.loads(pickle.dumps(segment))
    expected = papyrus if name == "mask" else ink
    np.asarray(getattr(segment, name)[:8, :8])  # first calls import and cache what they use

    image, peak = traced_peak(lambda: np.asarray(getattr(segment, name)))

    np.testing.assert_array_equal(image, expected)
    assert image.dtype == expected.dtype
    # was 2x and more: the decode's array, then dask's copy of its one chunk
    assert peak < 1.5 * expected.nbytes


def test_each_compute_gives_its_own_side_image(tmp_path):
    papyrus, _ = _segment_folder(tmp_path / SEGMENT_ID, shape=(40, 30))
    segment = open_segment(tmp_path / SEGMENT_ID)

    first = np.asarray(segment.mask)
    first[:] = False  # a caller may write to what it got (napari's mask layer is painted)

    np.testing.assert_array_equal(np.asarray(segment.mask), papyrus)
    np.testing.assert_array_equal(segment.mask[10:20, 5:25].compute(), papyrus[10:20, 5:25])
