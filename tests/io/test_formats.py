"""open_segment reads every supported layout lazily and identically."""

from __future__ import annotations

import shutil
import tracemalloc
from pathlib import Path

import numpy as np
import pytest
import tifffile
import zarr
from PIL import Image

from inkloop.io import detect_format, open_segment, write_layer, write_png
from inkloop.synthetic import write_segment
from tests.io._lookalikes import write_lookalikes


def _write_layers(folder: Path, volume: np.ndarray, suffix: str = ".tif", digits: int = 2):
    for z, layer in enumerate(volume):
        path = folder / f"{z:0{digits}d}{suffix}"
        if suffix == ".tif":
            write_layer(path, layer)
        else:
            folder.mkdir(parents=True, exist_ok=True)
            Image.fromarray(layer).save(path)


def test_vesuvius_folder_reads_layers_mask_and_labels(segment_folder, synthetic):
    segment = open_segment(segment_folder)

    assert segment.name == "20231012184423"
    assert segment.format == "vesuvius"
    assert segment.shape == synthetic.volume.shape
    assert segment.dtype == np.uint16
    np.testing.assert_array_equal(segment.volume.compute(), synthetic.volume)
    np.testing.assert_array_equal(segment.mask.compute(), synthetic.mask)
    _assert_direct_reads_match(segment)
    np.testing.assert_array_equal(segment.ink_labels.compute(), (synthetic.ink > 0.5) * 255)
    assert segment.supervision is None


def test_kaggle_fragment_layout(tmp_path, synthetic):
    fragment = tmp_path / "fragment1"
    _write_layers(fragment / "surface_volume", synthetic.volume)
    write_png(fragment / "mask.png", synthetic.mask.astype(np.uint8) * 255)
    write_png(fragment / "inklabels.png", (synthetic.ink * 255).astype(np.uint8))

    segment = open_segment(fragment)

    assert segment.format == "kaggle"
    np.testing.assert_array_equal(segment.volume.compute(), synthetic.volume)
    assert segment.mask.compute().sum() == synthetic.mask.sum()
    soft = segment.ink_labels.compute()
    assert np.count_nonzero((soft > 0) & (soft < 255)) > 0  # grey levels survive as soft labels


def test_supervision_mask_is_read(segment_folder):
    labelled = np.zeros((64, 96), np.uint8)
    labelled[:32] = 255
    write_png(segment_folder / "20231012184423_supervision_mask.png", labelled)

    supervision = open_segment(segment_folder).supervision.compute()

    assert supervision.dtype == bool
    assert supervision[:32].all()
    assert not supervision[32:].any()


@pytest.mark.parametrize(("suffix", "digits"), [(".tif", 3), (".png", 2), (".jpg", 2)])
def test_plain_folder_of_layer_images(tmp_path, synthetic, suffix, digits):
    volume = (synthetic.volume // 257).astype(np.uint8)
    _write_layers(tmp_path / "stack", volume, suffix, digits)

    segment = open_segment(tmp_path / "stack")

    assert segment.format == "folder"
    assert segment.shape == volume.shape
    assert segment.dtype == np.uint8
    read = segment.volume.compute()
    if suffix == ".jpg":  # lossy: close, not equal
        assert np.abs(read.astype(int) - volume).mean() < 6
    else:
        np.testing.assert_array_equal(read, volume)


def test_layers_are_ordered_by_number_not_by_name(tmp_path):
    folder = tmp_path / "unpadded"
    for number in range(12):  # 0.tif, 1.tif, ..., 10.tif, 11.tif: string order puts 10 before 2
        write_layer(folder / f"{number}.tif", np.full((4, 4), number, np.uint16))

    segment = open_segment(folder)

    assert segment.volume[:, 0, 0].compute().tolist() == list(range(12))
    assert segment.layer_numbers == tuple(range(12))


def _assert_direct_reads_match(segment) -> None:
    """Segment.read (no dask) returns what the dask volume holds, for any layer order."""
    depth = segment.shape[0]
    layers = [depth - 1, 0, 1, 1] if depth > 1 else [0]
    expected = segment.volume.compute()[layers, 3:40, 10:30]
    np.testing.assert_array_equal(segment.read(layers, slice(3, 40), slice(10, 30)), expected)


def test_reverse_then_window(segment_folder, synthetic):
    segment = open_segment(segment_folder, reverse=True, z_start=2, z_count=3)

    np.testing.assert_array_equal(segment.volume.compute(), synthetic.volume[::-1][2:5])
    assert segment.layer_numbers == (5, 4, 3)
    _assert_direct_reads_match(segment)


@pytest.mark.parametrize("compression", [None, "zlib"])
def test_multipage_tiff(tmp_path, synthetic, compression):
    path = tmp_path / "scan.tif"
    tifffile.imwrite(path, synthetic.volume, compression=compression)

    segment = open_segment(path)

    assert detect_format(path) == "tiff-stack"
    assert segment.name == "scan"
    assert segment.format == "tiff-stack"
    np.testing.assert_array_equal(segment.volume.compute(), synthetic.volume)
    np.testing.assert_array_equal(
        segment.volume[3, 10:20, 5:9].compute(), synthetic.volume[3, 10:20, 5:9]
    )
    _assert_direct_reads_match(open_segment(path, reverse=True, z_start=1, z_count=4))


@pytest.mark.parametrize("zarr_format", [2, 3])
def test_zarr_array(tmp_path, synthetic, zarr_format):
    path = tmp_path / "volume.zarr"
    array = zarr.create_array(
        path,
        shape=synthetic.volume.shape,
        chunks=(4, 32, 32),
        dtype="uint16",
        zarr_format=zarr_format,
    )
    array[:] = synthetic.volume
    write_png(tmp_path / "volume_mask.png", synthetic.mask.astype(np.uint8) * 255)

    segment = open_segment(path)

    assert segment.format == "zarr"
    assert segment.name == "volume"
    np.testing.assert_array_equal(segment.volume.compute(), synthetic.volume)
    np.testing.assert_array_equal(segment.mask.compute(), synthetic.mask)


@pytest.mark.parametrize("zarr_format", [2, 3])
def test_ome_zarr_multiscale(tmp_path, synthetic, zarr_format):
    path = tmp_path / "segment.zarr"
    group = zarr.open_group(path, mode="w", zarr_format=zarr_format)
    levels = [synthetic.volume, synthetic.volume[:, ::2, ::2], synthetic.volume[:, ::4, ::4]]
    for index, level in enumerate(levels):
        group.create_array(str(index), data=level, chunks=(1, 32, 32))
    multiscales = [
        {
            "version": "0.4",
            "axes": ["z", "y", "x"],
            "datasets": [{"path": str(i)} for i in range(3)],
        }
    ]
    if zarr_format == 3:  # OME-Zarr 0.5 nests its metadata under "ome"
        group.attrs["ome"] = {"version": "0.5", "multiscales": multiscales}
    else:
        group.attrs["multiscales"] = multiscales

    segment = open_segment(path)

    assert segment.format == "ome-zarr"
    assert [level.shape for level in segment.levels] == [level.shape for level in levels]
    np.testing.assert_array_equal(segment.volume.compute(), synthetic.volume)
    _assert_direct_reads_match(segment)


def test_ome_zarr_window_keeps_levels_that_share_z(tmp_path, synthetic):
    path = tmp_path / "segment.zarr"
    group = zarr.open_group(path, mode="w")
    group.create_array("0", data=synthetic.volume, chunks=(1, 32, 32))
    group.create_array("1", data=synthetic.volume[:, ::2, ::2], chunks=(1, 32, 32))
    group.create_array("2", data=synthetic.volume[::2, ::4, ::4], chunks=(1, 16, 16))
    group.attrs["multiscales"] = [{"datasets": [{"path": p} for p in "012"]}]

    whole = open_segment(path)
    window = open_segment(path, z_start=1, z_count=4)

    assert len(whole.levels) == 3
    assert [level.shape for level in window.levels] == [(4, 64, 96), (4, 32, 48)]


def test_open_reads_no_pixels_and_patches_read_only_their_window(tmp_path):
    folder = write_segment(tmp_path / "big", 512, 512, 32, seed=1)  # 16 MB of layers
    tracemalloc.start()
    try:
        segment = open_segment(folder)
        patch = segment.volume[8:24, 100:356, 200:456].compute()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()

    assert patch.shape == (16, 256, 256)
    assert peak < 4 * patch.nbytes  # the 16 MB stack is never copied into memory


@pytest.mark.parametrize("compression", [None, "zlib"])
@pytest.mark.parametrize("writer", ["append", "loop"])
def test_a_tiff_written_page_by_page_is_one_stack(tmp_path, synthetic, writer, compression):
    path = tmp_path / "scan.tif"
    if writer == "append":
        for layer in synthetic.volume:
            tifffile.imwrite(path, layer, append=True, compression=compression)
    else:
        with tifffile.TiffWriter(path) as tiff:
            for layer in synthetic.volume:
                tiff.write(layer, compression=compression)

    segment = open_segment(path)

    assert detect_format(path) == "tiff-stack"
    assert segment.shape == synthetic.volume.shape
    np.testing.assert_array_equal(segment.volume.compute(), synthetic.volume)
    _assert_direct_reads_match(open_segment(path, reverse=True, z_start=1, z_count=4))


def test_detect_format_reads_headers_to_decline_lookalikes(tmp_path):
    for path in write_lookalikes(tmp_path):
        assert detect_format(path) is None, path.name


def test_detect_format_declines_what_is_not_a_segment(tmp_path, segment_folder):
    (tmp_path / "notes.txt").write_text("hello")
    tifffile.imwrite(tmp_path / "single.tif", np.zeros((8, 8), np.uint8))
    (tmp_path / "empty").mkdir()

    assert detect_format(tmp_path / "notes.txt") is None
    assert detect_format(tmp_path / "single.tif") is None
    assert detect_format(tmp_path / "empty") is None
    assert detect_format(tmp_path / "missing") is None
    assert detect_format(segment_folder) == "vesuvius"
    shutil.rmtree(segment_folder / "layers")
    (segment_folder / f"{segment_folder.name}_mask.png").unlink()  # with it: a server's
    assert detect_format(segment_folder) is None  # segment without layers (test_server_layouts)


def test_ome_zarr_with_singleton_time_and_channel_axes(tmp_path, synthetic):
    path = tmp_path / "tczyx.zarr"
    group = zarr.open_group(path, mode="w")
    group.create_array("0", data=synthetic.volume[None, None], chunks=(1, 1, 2, 32, 32))
    group.attrs["multiscales"] = [{"datasets": [{"path": "0"}]}]

    segment = open_segment(path)

    assert segment.shape == synthetic.volume.shape
    np.testing.assert_array_equal(segment.volume.compute(), synthetic.volume)
    _assert_direct_reads_match(open_segment(path, z_start=2, z_count=3))


@pytest.mark.parametrize("suffix", [".png", ".tif"])
def test_read_image_takes_a_path_or_a_string(tmp_path, suffix):
    from inkloop.io import read_image

    image = np.arange(12, dtype=np.uint8).reshape(3, 4)
    path = tmp_path / f"image{suffix}"
    if suffix == ".png":
        write_png(path, image)
    else:
        tifffile.imwrite(path, image)
    np.testing.assert_array_equal(read_image(str(path)), image)
    np.testing.assert_array_equal(read_image(path), image)
