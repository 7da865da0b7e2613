"""A segment zarr whose layers are not its first axis (stored depth-last, H x W x Z, as the
community's villa loaders accept it, or with its axes named in another order) is read as
Z x H x W: the volume, every pyramid level, reads without dask and the side images' sizes."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import zarr

from inkloop._notify import InkloopWarning
from inkloop.io import SegmentError, open_segment, write_png

NAME = "20240101000000"


def _write_mask(folder, synthetic) -> None:
    write_png(folder / f"{NAME}_mask.png", synthetic.mask.astype(np.uint8) * 255)


def _assert_read_as(segment, volume) -> None:
    """The dask volume, Segment.read and the direct reads napari's tiles make hold ``volume``."""
    np.testing.assert_array_equal(segment.volume.compute(), volume)
    layers = [volume.shape[0] - 1, 0, 2]
    read = segment.read(layers, slice(3, 40), slice(10, 30))
    np.testing.assert_array_equal(read, volume[layers, 3:40, 10:30])
    np.testing.assert_array_equal(segment.direct[2, 5:9, ::7], volume[2, 5:9, ::7])


def _inkloop_warnings(caught) -> list[str]:
    return [str(w.message) for w in caught if issubclass(w.category, InkloopWarning)]


@pytest.mark.parametrize("zarr_format", [2, 3])
def test_a_depth_last_zarr_without_axis_names_is_read_layers_first(
    tmp_path, synthetic, zarr_format
):
    path = tmp_path / f"{NAME}.zarr"
    stored = np.moveaxis(synthetic.volume, 0, -1)  # 64 x 96 x 8
    zarr.create_array(path, data=stored, chunks=(32, 32, 8), zarr_format=zarr_format)
    _write_mask(tmp_path, synthetic)

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        segment = open_segment(path)

    assert _inkloop_warnings(caught) == [
        f"{path}: stored depth-last, 64 x 96 x 8 ({NAME}_mask.png is 64 x 96: it names no axes "
        "z, y, x): read as 8 layers of 64 x 96"
    ]
    assert segment.shape == (8, 64, 96)
    assert segment.layer_numbers == tuple(range(8))
    _assert_read_as(segment, synthetic.volume)
    np.testing.assert_array_equal(segment.mask.compute(), synthetic.mask)  # its size fits


def test_without_names_or_side_images_the_smallest_last_axis_is_the_layers(tmp_path, synthetic):
    path = tmp_path / f"{NAME}.zarr"
    zarr.create_array(path, data=np.moveaxis(synthetic.volume, 0, -1), zarr_format=2)

    with pytest.warns(InkloopWarning, match=r"\(its smallest axis taken as the layers: it names"):
        segment = open_segment(path)

    _assert_read_as(segment, synthetic.volume)


@pytest.mark.parametrize("side", ["mask", "inklabels_v2"])
def test_a_narrow_depth_first_strip_stays_depth_first_by_its_side_images_size(
    tmp_path, synthetic, side
):
    """8 x 64 x 5: its last axis alone is the smallest, but a 64 x 5 mask or labels image says
    that its layers come first (an unreadable mask before it tells nothing)."""
    path = tmp_path / f"{NAME}.zarr"
    strip = synthetic.volume[:, :, :5]
    zarr.create_array(path, data=strip, zarr_format=2)
    write_png(tmp_path / f"{NAME}_{side}.png", synthetic.mask[:, :5].astype(np.uint8) * 255)
    (tmp_path / f"{NAME}_flat_mask.png").write_bytes(b"not a png")  # the second mask name

    with warnings.catch_warnings():
        warnings.simplefilter("error", InkloopWarning)
        segment = open_segment(path)

    _assert_read_as(segment, strip)
    key = "mask" if side == "mask" else "ink_labels"
    assert getattr(segment, key).compute().shape == (64, 5)  # its size fits


def test_a_side_image_that_tells_no_order_leaves_the_smallest_axis_rule(tmp_path, synthetic):
    path = tmp_path / f"{NAME}.zarr"
    zarr.create_array(path, data=np.moveaxis(synthetic.volume, 0, -1), zarr_format=2)  # 64x96x8
    write_png(tmp_path / f"{NAME}_mask.png", np.zeros((7, 7), np.uint8))  # fits neither order

    with pytest.warns(InkloopWarning, match=r"\(its smallest axis taken as the layers: it names"):
        segment = open_segment(path)

    _assert_read_as(segment, synthetic.volume)


@pytest.mark.parametrize(
    ("zarr_format", "names"),
    [(3, ("y", "z", "x")), (2, ("X", "Y", "Z"))],
    ids=["v3-dimension_names", "v2-_ARRAY_DIMENSIONS"],
)
def test_axis_names_decide_the_order(tmp_path, synthetic, zarr_format, names):
    """y, z, x: the smallest axis is in the middle; x, y, z: the smallest rule would keep
    rows and columns swapped."""
    path = tmp_path / f"{NAME}.zarr"
    stored = np.transpose(synthetic.volume, ["zyx".index(n.lower()) for n in names])
    if zarr_format == 3:
        zarr.create_array(path, data=stored, dimension_names=names)
    else:
        array = zarr.create_array(path, data=stored, zarr_format=2)
        array.attrs["_ARRAY_DIMENSIONS"] = list(names)
    _write_mask(tmp_path, synthetic)

    with pytest.warns(InkloopWarning, match=f"axes are named {', '.join(names).lower()}"):
        segment = open_segment(path)

    _assert_read_as(segment, synthetic.volume)
    np.testing.assert_array_equal(segment.mask.compute(), synthetic.mask)


def test_names_z_y_x_keep_a_narrow_strip_as_stored(tmp_path, synthetic):
    path = tmp_path / f"{NAME}.zarr"
    strip = synthetic.volume[:, :, :5]  # 8 x 64 x 5: its last axis is the smallest
    zarr.create_array(path, data=strip, dimension_names=("z", "y", "x"))

    with warnings.catch_warnings():
        warnings.simplefilter("error", InkloopWarning)
        segment = open_segment(path)

    np.testing.assert_array_equal(segment.volume.compute(), strip)


@pytest.mark.parametrize(
    "stored", [np.s_[:, :, :8], np.s_[:, :6, :]], ids=["tie-first-last", "middle-smallest"]
)
def test_without_names_a_tie_or_a_smallest_middle_axis_stays_layers_first(
    tmp_path, synthetic, stored
):
    path = tmp_path / f"{NAME}.zarr"
    volume = synthetic.volume[stored]  # 8 x 64 x 8, 8 x 6 x 96
    zarr.create_array(path, data=volume, zarr_format=2)

    with warnings.catch_warnings():
        warnings.simplefilter("error", InkloopWarning)
        segment = open_segment(path)

    np.testing.assert_array_equal(segment.volume.compute(), volume)


@pytest.mark.parametrize(
    ("zarr_format", "axes"),
    [(2, ("y", "x", "z")), (3, ("t", "c", "x", "y", "z"))],
    ids=["0.4-yxz", "0.5-tcxyz"],
)
def test_ome_zarr_axes_order_every_level(tmp_path, synthetic, zarr_format, axes):
    """The coarsest level, 8 x 4 x 6, is stored 4 x 6 x 8 or 6 x 4 x 8: its own shape would
    not tell its layers."""
    path = tmp_path / f"{NAME}.zarr"
    group = zarr.open_group(path, mode="w", zarr_format=zarr_format)
    levels = [synthetic.volume[:, ::step, ::step] for step in (1, 2, 16)]
    spatial = [a for a in axes if a in "zyx"]
    for index, level in enumerate(levels):
        stored = np.transpose(level, ["zyx".index(a) for a in spatial])
        group.create_array(str(index), data=stored.reshape((1,) * (len(axes) - 3) + stored.shape))
    entry = {
        "axes": [{"name": a, "type": "space" if a in "zyx" else a} for a in axes],
        "datasets": [{"path": str(i)} for i in range(len(levels))],
    }
    if zarr_format == 3:
        group.attrs["ome"] = {"version": "0.5", "multiscales": [entry]}
    else:
        group.attrs["multiscales"] = [{"version": "0.4", **entry}]

    with pytest.warns(InkloopWarning, match=f"axes are named {', '.join(spatial)}"):
        segment = open_segment(path)

    assert [level.shape for level in segment.levels] == [(8, 64, 96), (8, 32, 48), (8, 4, 6)]
    for shown, level in zip(segment.levels, levels, strict=True):
        np.testing.assert_array_equal(shown.compute(), level)
    _assert_read_as(segment, synthetic.volume)


def test_a_depth_last_zarr_over_http_is_read_layers_first(tmp_path, synthetic):
    from tests._http import serve

    stored = np.moveaxis(synthetic.volume, 0, -1)
    zarr.create_array(tmp_path / f"{NAME}.zarr", data=stored, chunks=(32, 32, 8))
    _write_mask(tmp_path, synthetic)

    with serve(tmp_path) as (base, _):
        with pytest.warns(InkloopWarning, match=f"depth-last, 64 x 96 x 8 \\({NAME}_mask.png"):
            segment = open_segment(f"{base}/{NAME}.zarr", cache=False)
        _assert_read_as(segment, synthetic.volume)
        np.testing.assert_array_equal(segment.mask.compute(), synthetic.mask)


def test_a_narrow_depth_first_strip_over_http_is_told_by_its_fetched_mask(tmp_path, synthetic):
    """The server's mask is fetched before the layers' order is chosen, as on disk."""
    from tests._http import serve

    strip = synthetic.volume[:, :, :5]
    zarr.create_array(tmp_path / f"{NAME}.zarr", data=strip, zarr_format=2)
    write_png(tmp_path / f"{NAME}_mask.png", synthetic.mask[:, :5].astype(np.uint8) * 255)

    with serve(tmp_path) as (base, _), warnings.catch_warnings():
        warnings.simplefilter("error", InkloopWarning)
        segment = open_segment(f"{base}/{NAME}.zarr", cache=False)
        _assert_read_as(segment, strip)
        assert segment.mask.compute().shape == (64, 5)


def _write_flat_ome_zarr(path, image) -> None:
    """A 2-D OME-Zarr of ``image`` (y, x), as inkloop's own prediction pyramids are."""
    group = zarr.create_group(path, zarr_format=3)
    group.create_array("0", data=image, chunks=(32, 32))
    axes = [{"name": "y", "type": "space"}, {"name": "x", "type": "space"}]
    entry = {"axes": axes, "datasets": [{"path": "0"}]}
    group.attrs["ome"] = {"version": "0.5", "multiscales": [entry]}


@pytest.mark.parametrize("kind", ["array", "ome"])
def test_a_2d_zarr_is_refused_as_no_volume(tmp_path, synthetic, kind):
    path = tmp_path / f"{NAME}_prediction.ome.zarr"
    if kind == "ome":
        _write_flat_ome_zarr(path, synthetic.mask.astype(np.uint8))
    else:
        zarr.create_array(path, data=synthetic.mask.astype(np.uint8), zarr_format=2)

    with pytest.raises(SegmentError) as raised:
        open_segment(path)
    assert str(raised.value) == f"{path}: expected a Z x H x W volume, found shape (64, 96)"


def test_a_2d_zarr_over_http_is_refused_as_no_volume(tmp_path, synthetic):
    from tests._http import serve

    _write_flat_ome_zarr(tmp_path / "flat.zarr", synthetic.mask.astype(np.uint8))
    with serve(tmp_path) as (base, _), pytest.raises(SegmentError) as raised:
        open_segment(f"{base}/flat.zarr", cache=False)
    expected = f"{base}/flat.zarr: expected a Z x H x W volume, found shape (64, 96)"
    assert str(raised.value) == expected
