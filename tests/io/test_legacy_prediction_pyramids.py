"""An OME-Zarr pyramid inkloop wrote before it recorded how (2026-11-28 to 2026-12-06) is
told from its metadata alone as inkloop's own, so that Predict whole segment shows it at a
reopen and keeps it as a .saved- copy; another tool's pyramid, or one renamed, is not."""

from __future__ import annotations

import numpy as np
import pytest
import zarr

from inkloop.io._prediction_metadata import foreign_file

AXES = [{"name": "y", "type": "space"}, {"name": "x", "type": "space"}]


def _level(i: int, origin) -> dict:
    """A level's dataset entry as the older inkloop wrote it: scaled 2^i, and moved from
    ``origin`` where that version recorded one (2026-12-05 on)."""
    moves = [{"type": "scale", "scale": [2.0**i] * 2}]
    if origin is not None:
        moves.append({"type": "translation", "translation": [v + (2**i - 1) / 2 for v in origin]})
    return {"path": str(i), "coordinateTransformations": moves}


def _pyramid(
    path, name, levels=2, origin=None, axes=AXES, dtype=np.uint8, dims=("y", "x"), entry=(), **more
):
    """An OME-Zarr 0.5 group at ``path`` of ``levels`` levels of ``dtype`` on dimensions
    ``dims``, its multiscales entry named ``name`` (with the keys ``entry`` too), with only
    the attributes ``ome`` and ``more``."""
    group = zarr.open_group(str(path), mode="w")
    for i in range(levels):
        group.create_array(str(i), shape=(32 >> i, 32 >> i), dtype=dtype, dimension_names=dims)
    datasets = [_level(i, origin) for i in range(levels)]
    entry = {"name": name, "axes": axes, "datasets": datasets, **dict(entry)}
    group.attrs.update({"ome": {"version": "0.5", "multiscales": [entry]}, **more})
    return path


def _moved(path, level: int, translation: list) -> None:
    """The pyramid at ``path`` with level ``level`` moved to ``translation``."""
    group = zarr.open_group(str(path), mode="r+")
    ome = group.attrs["ome"]
    ome["multiscales"][0]["datasets"][level]["coordinateTransformations"][1]["translation"] = (
        translation
    )
    group.attrs["ome"] = ome


@pytest.mark.parametrize(
    ("origin", "levels"), [(None, 3), ((0.0, 0.0), 1), ((64.0, 32.0), 2)]
)  # as written up to 2026-12-04, and from 2026-12-05 to 2026-12-06
def test_an_older_inkloops_pyramid_is_its_own(tmp_path, origin, levels):
    name = "seg_prediction.ome.zarr"
    assert not foreign_file(_pyramid(tmp_path / name, name, levels, origin))


@pytest.mark.parametrize(
    "make",
    [
        lambda p: _pyramid(p, "image"),  # another tool names its image
        lambda p: _pyramid(p, None),
        lambda p: _pyramid(p, "seg_prediction.ome.zarr", axes=AXES[::-1]),
        lambda p: _pyramid(p, "seg_prediction.ome.zarr", tool={"made": "elsewhere"}),
        lambda p: _pyramid(p.with_name("x.ome.zarr"), "x.ome.zarr").rename(p),  # renamed
        # ome-zarr-py's write_image(..., name=<the folder's name>): float ink probabilities,
        # and with its downsampling recorded (review C17 finding 1)
        lambda p: _pyramid(p, p.name, levels=3, dtype=np.float32),
        lambda p: _pyramid(p, p.name, entry={"type": "resize", "metadata": {"method": "x"}}),
        lambda p: _pyramid(p, p.name, dims=None),  # level 0 on unnamed dimensions
        lambda p: _moved(_pyramid(p, p.name, origin=(8.0, 0.0)), 1, [9.0, 0.0]),
    ],
)
def test_another_pyramid_is_not(tmp_path, make):
    path = tmp_path / "seg_prediction.ome.zarr"
    make(path)
    assert foreign_file(path)
