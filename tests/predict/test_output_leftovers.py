"""What killed prediction runs leave beside an output: the next run into it says that it
removes the staged blocks (computed again), and sweeps a file format's old parts."""

from __future__ import annotations

import os
import re
import time

import dask.array as da
import numpy as np
import pytest
import zarr

from inkloop._notify import InkloopWarning
from inkloop.predict import write_prediction


def _lazy(shape=(64, 96)):
    return da.from_array(np.full(shape, 0.5, np.float32), chunks=32)


def test_a_killed_runs_staged_blocks_are_said_to_be_computed_again(tmp_path):
    out = tmp_path / "p.zarr"
    staging = tmp_path / ".p.zarr.partial"  # a killed run's, two of its four blocks stored
    staged = zarr.create_array(staging, shape=(2048, 2048), chunks=(1024, 1024), dtype="f4")
    staged[:1024, :] = 0.25
    said = f"an interrupted run's staging {staging} (2 blocks) is removed; its blocks are computed"
    with pytest.warns(InkloopWarning, match=f"^{re.escape(said)} again$"):
        write_prediction(_lazy(), out, progress=False)
    assert not staging.exists()
    assert zarr.open_array(out, mode="r").shape == (64, 96)


def test_old_parts_of_a_killed_file_write_are_swept_fresh_ones_kept(tmp_path):
    out = tmp_path / "p.tif"
    old, fresh = tmp_path / ".p.tif.abcd1234.tmp", tmp_path / ".p.tif.efgh5678.tmp"
    other = tmp_path / ".q.tif.abcd1234.tmp"  # another output's
    for part in (old, fresh, other):
        part.write_bytes(b"half a TIFF")
    two_hours_ago = time.time() - 7200
    for part in (old, other):
        os.utime(part, (two_hours_ago, two_hours_ago))
    write_prediction(_lazy(), out, progress=False)
    assert not old.exists()
    assert fresh.exists()  # perhaps another process's write under way
    assert other.exists()
