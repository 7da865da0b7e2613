"""Windows of uncompressed TIFF data (whole rows by pread, parts of rows through a short-lived
map) equal numpy slicing, in either byte order; a short file is named, never a crash."""

from __future__ import annotations

import numpy as np
import pytest
import tifffile

from inkloop.io import open_segment
from inkloop.io._raw import RawArray


@pytest.mark.parametrize("byteorder", ["<", ">"])
def test_windows_of_a_big_or_little_endian_stack(tmp_path, synthetic, byteorder):
    path = tmp_path / "stack.tif"
    tifffile.imwrite(path, synthetic.volume, byteorder=byteorder)
    volume = open_segment(path).volume

    for key in [
        (slice(None), slice(None), slice(None)),
        (slice(2, 6), slice(10, 40), slice(5, 77)),
        (3, slice(0, 64), slice(90, 96)),
        (slice(1, 8, 3), 7, slice(None)),
        (-1, -2, -3),
    ]:
        np.testing.assert_array_equal(volume[key].compute(), synthetic.volume[key])
    assert volume.dtype == np.dtype("uint16")  # native order for everything downstream


def test_reading_past_the_end_of_the_file_names_it(tmp_path):
    path = tmp_path / "short.raw"
    path.write_bytes(bytes(100))
    array = RawArray(path, 0, (10, 10), np.dtype("<u2"))  # needs 200 bytes

    np.testing.assert_array_equal(array[:5, :10], 0)
    np.testing.assert_array_equal(array[2:5, 3:7], 0)
    for window in [(slice(5, 10), slice(None)), (slice(4, 10), slice(2, 4))]:  # pread, map
        with pytest.raises(OSError, match=r"short\.raw: file ends before its image data"):
            array[window]
