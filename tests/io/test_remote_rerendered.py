"""A zarr re-rendered on the server under the same URL (review R2, finding 2): the chunk cache
keeps each array's chunks under a digest of its metadata as read at this open, so a new
shape, chunking, data type, codecs or fill value is read anew from the server (said once),
never from chunks kept for the old version, which go first as the cache needs room."""

from __future__ import annotations

import os
import shutil
import warnings

import numpy as np
import pytest
import zarr

from inkloop._notify import InkloopWarning
from inkloop.io._remote import local_folder, open_zarr_url
from tests._http import serve

pytest.importorskip("aiohttp")


def _render(root, value: int, shape=(2, 64, 64), fill: int = 0) -> None:
    """Write (or write again) ``seg.zarr``: array 0 of ``shape`` holding ``value``, in
    uncompressed 32² chunks (1 KB each)."""
    shutil.rmtree(root / "seg.zarr", ignore_errors=True)
    group = zarr.create_group(str(root / "seg.zarr"), zarr_format=3)
    array = group.create_array(
        "0", shape=shape, chunks=(1, 32, 32), dtype="uint8", fill_value=fill, compressors=None
    )
    array[:] = value


def _read_all(url: str, cache) -> tuple[np.ndarray, list[str]]:
    """Array 0 at ``url`` read whole through the chunk cache ``cache``, and what was said."""
    with warnings.catch_warnings(record=True) as warned:
        warnings.simplefilter("always")
        values = open_zarr_url(url, cache=cache)["0"][:]
    return values, [str(w.message) for w in warned if w.category is InkloopWarning]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    root = tmp_path_factory.mktemp("served")
    with serve(root) as (base, server):
        yield root, base, server


@pytest.fixture
def served(server):
    """A folder of its own on the server, with ``seg.zarr`` holding 10: (it, its URL, the
    server)."""
    root, base, server = server
    folder = root / f"{len(list(root.iterdir()))}"
    folder.mkdir()
    _render(folder, 10)
    return folder, f"{base}/{folder.name}/seg.zarr", server


@pytest.mark.parametrize("change", ["shape", "fill value"])
def test_a_zarr_re_rendered_on_the_server_is_read_anew_and_said_once(
    served, tmp_path, monkeypatch, change
):
    root, url, server = served
    cache = tmp_path / "cache"
    assert np.unique(_read_all(url, cache)[0]).tolist() == [10]
    if change == "shape":  # larger: the old chunks' keys are all among the new ones
        _render(root, 77, shape=(2, 96, 96))
    else:
        _render(root, 77, fill=5)
    server.requests.clear()

    values, said = _read_all(url, cache)

    assert np.unique(values).tolist() == [77]  # no old chunk mixed in
    assert len([p for p in server.requests if "/c/" in p]) == values.size // 32**2
    assert len(said) == 1
    assert said[0].startswith(f"{url}: array 0 changed on the server since its chunks were kept")
    # said once: not again here, nor by another process (which has seen nothing yet)
    monkeypatch.setattr("inkloop.io._chunk_cache._VERSIONS_SEEN", set())
    assert _read_all(url, cache)[1] == []


def test_chunks_kept_for_earlier_metadata_go_first_when_room_is_needed(
    served, tmp_path, monkeypatch
):
    root, url, _server = served
    cache = tmp_path / "cache"
    _read_all(url, cache)
    chunks = local_folder(url, cache) / "chunks"
    (earlier,) = (chunks / "0").iterdir()
    for old in earlier.rglob("*"):
        os.utime(old, (1e9, 1e9))  # read in a session long ago
    _render(root, 77, shape=(2, 96, 64))  # 12 chunks of 1 KB
    monkeypatch.setattr("inkloop.io._chunk_cache.CHUNK_CACHE_BYTES", 12 << 10)

    assert np.unique(_read_all(url, cache)[0]).tolist() == [77]

    assert not earlier.exists()  # its chunks went first, and the folders they left empty
    (kept,) = (chunks / "0").iterdir()
    assert kept.name.startswith("@")
    assert 0 < sum(p.stat().st_size for p in kept.rglob("*") if p.is_file()) <= 12 << 10


def test_a_chunk_whose_folder_another_process_emptied_away_is_still_kept(
    served, tmp_path, monkeypatch
):
    """Eviction removes the folders it empties: one a chunk is being written into, removed
    between its making and the write, is made again."""
    from inkloop.io import _write

    _root, url, _server = served
    made = _write.new_part
    removed = []

    def removed_first(path):
        if not removed:
            removed.append(path.parent)
            raise FileNotFoundError(2, "No such file or directory", str(path.parent))
        return made(path)

    monkeypatch.setattr(_write, "new_part", removed_first)
    values, said = _read_all(url, tmp_path / "cache")

    assert np.unique(values).tolist() == [10]
    assert said == []
    kept = (local_folder(url, tmp_path / "cache") / "chunks" / "0").glob("@*/c/*/*/*")
    assert len(list(kept)) == values.size // 32**2
