"""The chunk cache is bounded as the decoded layers' are: the chunks read longest ago go
beyond a size, and none is kept where the disk would keep less than FREE_SPACE_KEPT free."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from inkloop._notify import InkloopWarning
from inkloop.io import open_segment
from inkloop.io._remote import local_folder
from tests._http import NAME, serve, write_served_segment

pytest.importorskip("aiohttp")


@pytest.fixture(scope="module")
def served(tmp_path_factory, synthetic):
    root = tmp_path_factory.mktemp("served")
    volume = write_served_segment(root, NAME, synthetic)  # 8 layers of 2 x 3 chunks
    (root / "other").mkdir()
    write_served_segment(root / "other", NAME, synthetic)
    with serve(root) as (base, server):
        yield f"{base}/{NAME}.zarr", server, volume


def _kept(cache) -> dict[str, int]:
    return {str(p): p.stat().st_size for p in cache.glob("*/*/chunks/**/*") if p.is_file()}


def _read_layer_by_layer(url, cache, volume, layers=None) -> None:
    segment = open_segment(url, cache=cache)
    for z in range(volume.shape[0]) if layers is None else layers:
        layer = segment.read([z], slice(None), slice(None))
        np.testing.assert_array_equal(layer, volume[z : z + 1])


def test_the_chunks_read_longest_ago_go_beyond_its_size(served, tmp_path, monkeypatch):
    url, server, volume = served
    _read_layer_by_layer(url, tmp_path / "all", volume)
    everything = sum(_kept(tmp_path / "all").values())
    budget = everything // 3
    monkeypatch.setattr("inkloop.io._chunk_cache.CHUNK_CACHE_BYTES", budget, raising=False)

    other = url.replace(f"/{NAME}", f"/other/{NAME}")  # the budget holds for all segments
    _read_layer_by_layer(url, tmp_path / "bounded", volume)
    _read_layer_by_layer(other, tmp_path / "bounded", volume)

    assert 0 < sum(_kept(tmp_path / "bounded").values()) <= budget
    server.requests.clear()
    last = open_segment(other, cache=tmp_path / "bounded").read([7], slice(None), slice(None))
    np.testing.assert_array_equal(last, volume[7:])
    assert not [p for p in server.requests if "/c/" in p]  # the last read are kept


def test_no_chunk_is_kept_where_the_disk_would_keep_too_little_free(served, tmp_path, monkeypatch):
    url, _server, volume = served
    cache = tmp_path / "cache"
    _read_layer_by_layer(url, cache, volume, range(4))
    labels = local_folder(url, cache) / f"{NAME}_inklabels.png"  # as earlier versions kept
    labels.write_bytes(b"painted")
    monkeypatch.setattr("inkloop.io._chunk_cache.FREE_SPACE_KEPT", 1 << 60, raising=False)

    with warnings.catch_warnings(record=True) as warned:
        warnings.simplefilter("always")
        _read_layer_by_layer(url, cache, volume)  # layers 4.. would be kept: 0..3 go first
        _read_layer_by_layer(url, cache, volume)

    assert _kept(cache) == {}
    assert labels.read_bytes() == b"painted"  # never a file but a chunk
    told = [str(w.message) for w in warned if w.category is InkloopWarning]
    assert len(told) == 1
    assert told[0].startswith(f"{cache}: chunks read are no longer kept there")
