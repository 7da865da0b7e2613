"""Windows of uncompressed TIFF data (whole rows by pread, parts of rows through a kept map,
patches of chosen layers) equal numpy slicing, in either byte order and from many threads; a
short file, or one cut short after it was mapped, is named, never a crash."""

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
        (slice(None), slice(None, None, 8), slice(None, None, 8)),  # a display pyramid's level
        (4, slice(3, 50, 2), slice(7, 90, 5)),
        (slice(0, 2), slice(1, 60, 4), slice(10, 20)),
    ]:
        np.testing.assert_array_equal(volume[key].compute(), synthetic.volume[key])
    assert volume.dtype == np.dtype("uint16")  # native order for everything downstream


@pytest.mark.parametrize("layout", ["stack", "layers"])
@pytest.mark.parametrize("byteorder", ["<", ">"])
def test_patches_of_layers_in_any_order_equal_slicing(tmp_path, synthetic, layout, byteorder):
    """The patches' path (`Segment.read_into`: every window of a layer through one map, no
    index parsing) and `Segment.read` on it."""
    if layout == "stack":
        path = tmp_path / "stack.tif"
        tifffile.imwrite(path, synthetic.volume, byteorder=byteorder)
    else:
        path = tmp_path / "slices"  # not "layers", which opens its parent as the segment
        path.mkdir()
        for z, layer in enumerate(synthetic.volume):
            tifffile.imwrite(path / f"{z:02d}.tif", layer, byteorder=byteorder)
    segment = open_segment(path)
    assert hasattr(segment.direct, "windows")
    height, width = synthetic.volume.shape[1:]
    boxes = [(10, 7, height - 2, 40), (0, 0, 3, width), (height - 5, width - 9, height, width)]
    boxes += [(height // 2, 3, height // 2 + 1, 4), (4, 4, 4, 9)]  # a pixel; no pixel

    for layers in ([5, 0, 3, 3], np.arange(2, 6), [7]):
        targets = [np.empty((len(layers), y1 - y0, x1 - x0), "u2") for y0, x0, y1, x1 in boxes]
        segment.read_into(layers, boxes, targets)
        for (y0, x0, y1, x1), target in zip(boxes, targets, strict=True):
            np.testing.assert_array_equal(target, synthetic.volume[layers, y0:y1, x0:x1])
        patch = segment.read(layers, slice(10, 74), slice(7, 71))  # slices clip, as numpy's
        np.testing.assert_array_equal(patch, synthetic.volume[layers, 10:74, 7:71])
        assert patch.dtype == np.dtype("uint16")


def test_a_window_off_the_image_is_refused_not_read_from_the_next_plane(tmp_path):
    path = tmp_path / "stack.raw"
    data = np.arange(2 * 8 * 6, dtype="<u2").reshape(2, 8, 6)
    path.write_bytes(data.tobytes())
    array = RawArray(path, 0, data.shape, data.dtype)
    for box in [(6, 0, 9, 4), (0, 3, 2, 7), (-1, 0, 2, 2)]:
        target = np.empty((1, box[2] - box[0], box[3] - box[1]), "u2")
        with pytest.raises(IndexError, match="leaves the 8 x 6 image"):
            array.windows([0], [box], [target])


def test_reading_past_the_end_of_the_file_names_it(tmp_path):
    path = tmp_path / "short.raw"
    path.write_bytes(bytes(100))
    array = RawArray(path, 0, (10, 10), np.dtype("<u2"))  # needs 200 bytes

    np.testing.assert_array_equal(array[:5, :10], 0)
    np.testing.assert_array_equal(array[2:5, 3:7], 0)
    windows = [(slice(5, 10), slice(None)), (slice(4, 10), slice(2, 4)), (slice(1, 9, 2),)]
    for window in windows:  # pread, map, strided
        with pytest.raises(OSError, match=r"short\.raw: file ends before its image data"):
            array[window]


def test_a_file_cut_short_after_it_was_mapped_is_named_not_a_crash(tmp_path):
    path = tmp_path / "layer.raw"
    data = np.arange(64 * 64, dtype="<u2").reshape(64, 64)
    path.write_bytes(data.tobytes())
    array = RawArray(path, 0, data.shape, data.dtype)
    np.testing.assert_array_equal(array[40:60, 3:9], data[40:60, 3:9])  # the map is kept

    path.write_bytes(data[:32].tobytes())  # rewritten shorter, as by a re-render in place
    np.testing.assert_array_equal(array[2:30, 3:9], data[2:30, 3:9])
    with pytest.raises(OSError, match=r"layer\.raw: file ends before its image data"):
        array[40:60, 3:9]

    path.write_bytes(data.tobytes())  # and back to full length: read again, not refused
    np.testing.assert_array_equal(array[40:60, 3:9], data[40:60, 3:9])


def test_reads_from_many_threads_across_remaps_equal_slicing(tmp_path, monkeypatch):
    """Threads copy through a map outside the lock; a map past its budget is let go of and
    unmapped once its last reader is done (each holds a file descriptor: none are left)."""
    import os
    from concurrent.futures import ThreadPoolExecutor

    from inkloop.io import _raw

    monkeypatch.setattr(_raw, "MAP_BUDGET", 4096)  # the map is dropped every few reads
    path = tmp_path / "stack.raw"
    data = np.random.default_rng(0).integers(0, 65535, (4, 96, 80), dtype=np.uint16)
    path.write_bytes(data.tobytes())
    array = RawArray(path, 0, data.shape, data.dtype)
    rng = np.random.default_rng(1)
    windows = [
        (slice(None), slice(y, y + 16), slice(x, x + 24))
        for y, x in zip(rng.integers(0, 80, 200), rng.integers(0, 56, 200), strict=True)
    ]

    fds = "/proc/self/fd"  # Linux; elsewhere the reads are checked, not the descriptors
    descriptors = len(os.listdir(fds)) if os.path.isdir(fds) else None

    with ThreadPoolExecutor(4) as pool:
        reads = list(pool.map(array.__getitem__, windows))

    for window, read in zip(windows, reads, strict=True):
        np.testing.assert_array_equal(read, data[window])
    if descriptors is not None:
        assert len(os.listdir(fds)) <= descriptors + 1  # the one map kept


def test_a_mapped_array_pickles_and_reads_the_same(tmp_path):
    import pickle

    path = tmp_path / "layer.raw"
    data = np.arange(32 * 48, dtype=">u2").reshape(32, 48)
    path.write_bytes(data.tobytes())
    array = RawArray(path, 0, data.shape, data.dtype)
    np.testing.assert_array_equal(array[1:9, 2:7], data[1:9, 2:7])

    copy = pickle.loads(pickle.dumps(array))

    np.testing.assert_array_equal(copy[5:20, 10:30], data[5:20, 10:30])
    assert copy[5:20, 10:30].dtype == np.dtype("uint16")
