"""The layer profile of a pyramid is read on its coarsest level still 512 px across: a
layer's mean needs no full resolution, and a remote segment's full level may be a GB."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest
import zarr

from inkloop.check import layer_profile
from inkloop.io import open_segment, write_png
from inkloop.synthetic import make_segment
from tests._http import NAME, serve

LAYERS, SIDE = 12, 1024  # level 1 is 512² (4 x 4 chunks), level 2 256²


@pytest.fixture(scope="module")
def pyramid(tmp_path_factory) -> Path:
    """A folder with a synthetic segment as a 3-level OME-Zarr (means of 2 x 2 pixels, as
    pyramids are made; 128² chunks, 256² on level 0) and its mask beside it."""
    root = tmp_path_factory.mktemp("pyramid")
    synthetic = make_segment(SIDE, SIDE, LAYERS, seed=2)
    group = zarr.create_group(str(root / f"{NAME}.zarr"), zarr_format=3)
    level = (synthetic.volume // 256).astype(np.float64)
    for index, chunk in enumerate((256, 128, 128)):
        group.create_array(str(index), data=level.astype(np.uint8), chunks=(1, chunk, chunk))
        z, h, w = level.shape
        level = level.reshape(z, h // 2, 2, w // 2, 2).mean(axis=(2, 4))
    datasets = [{"path": str(index)} for index in range(3)]
    group.attrs["ome"] = {"version": "0.5", "multiscales": [{"datasets": datasets}]}
    write_png(root / f"{NAME}_mask.png", synthetic.mask.astype(np.uint8) * 255)
    return root


def test_the_coarse_level_finds_the_sheet_and_window_the_full_level_does(pyramid):
    segment = open_segment(pyramid / f"{NAME}.zarr")
    mask = np.asarray(segment.mask)
    full = layer_profile(dataclasses.replace(segment, levels=segment.levels[:1]), mask)
    coarse = layer_profile(segment, mask)
    assert full.surface() is not None
    assert abs(coarse.surface() - full.surface()) <= 1
    assert abs(coarse.window(8)[0] - full.window(8)[0]) <= 1


def test_a_remote_pyramid_is_profiled_from_its_coarse_level_each_chunk_once(
    pyramid, tmp_path, monkeypatch
):
    monkeypatch.setenv("INKLOOP_DATA", str(tmp_path / "home"))
    with serve(pyramid) as (base, server):
        segment = open_segment(f"{base}/{NAME}.zarr")
        mask = np.asarray(segment.mask)
        server.requests.clear()
        layer_profile(segment, mask)
    chunks = [path for path in server.requests if "/c/" in path]
    levels = {path.split("/")[2] for path in chunks}
    assert levels == {"1"}  # not the full level 0, nor level 2 (256 px across)
    assert len(chunks) == len(set(chunks)) <= LAYERS * 4 * 4


def test_a_profile_reads_fewer_chunks_at_once_where_they_are_big():
    import dask.array as da

    from inkloop._coarse_level import READS_AT_ONCE, reads_at_once

    small = da.zeros((48, 3000, 5000), dtype=np.uint8, chunks=(1, 512, 512))
    big = da.zeros((64, 4096, 4096), dtype=np.uint16, chunks=(64, 1024, 1024))  # 128 MiB each
    assert reads_at_once(small) == READS_AT_ONCE
    assert reads_at_once(big) == 2  # 256 MiB in flight, not 2 GiB
