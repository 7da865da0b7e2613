"""A sharded zarr over HTTP: read by byte ranges where the server honours them; refused in
one message where it ignores Range requests (python -m http.server sends the whole file)."""

from __future__ import annotations

import numpy as np
import pytest
import zarr
from zarr.abc.store import OffsetByteRequest, RangeByteRequest, SuffixByteRequest

from inkloop.io import SegmentError
from inkloop.io._chunk_layouts import CutOffChunk
from inkloop.io._remote import GuardedArray, open_zarr_url
from inkloop.io._remote_store import RangeIgnored, _range_refusal
from tests._http import serve

pytest.importorskip("aiohttp")


@pytest.fixture
def sharded(tmp_path):
    """A 2 x 64 x 64 uint8 zarr of one shard of 1 x 32 x 32 chunks, served."""
    volume = np.random.default_rng(0).integers(0, 255, (2, 64, 64), dtype=np.uint8)
    path = tmp_path / "sharded.zarr"
    zarr.create_array(path, data=volume, chunks=(1, 32, 32), shards=(2, 64, 64))
    with serve(tmp_path) as (base, server):
        yield base, server, volume


def _open(url: str) -> GuardedArray:
    return GuardedArray(open_zarr_url(url, cache=False), url)


def test_a_sharded_zarr_is_read_by_byte_ranges(sharded):
    base, _, volume = sharded
    array = _open(f"{base}/ranges/sharded.zarr")

    np.testing.assert_array_equal(array[1, 32:, :32], volume[1, 32:, :32])  # index, one chunk
    np.testing.assert_array_equal(array[:], volume)


def test_a_server_that_ignores_range_requests_is_said_to(sharded):
    base, server, _ = sharded
    url = f"{base}/sharded.zarr"
    array = _open(url)
    server.requests.clear()

    with pytest.raises(SegmentError) as raised:
        array[1, 32:, :32]  # the shard's index, then one chunk

    said = str(raised.value)
    assert said.startswith(f"{url}: the server answered 200 OK with all ")
    assert "it ignores Range requests, which sharded zarrs need" in said
    assert server.requests == ["/sharded.zarr/c/0/0/0"]  # refused at once, not tried again


@pytest.mark.parametrize(
    ("asked", "got", "refused"),
    [
        (RangeByteRequest(10, 110), 100, None),
        (RangeByteRequest(10, 110), 60, CutOffChunk),  # cut off: tried again, as chunks are
        (RangeByteRequest(10, 110), 4096, RangeIgnored),
        (SuffixByteRequest(100), 60, None),  # a file shorter than the suffix is sent whole
        (SuffixByteRequest(100), 4096, RangeIgnored),
        (OffsetByteRequest(10), 4096, None),  # its length is not known
    ],
)
def test_an_answer_of_another_length_than_its_range_is_refused(asked, got, refused):
    refusal = _range_refusal("http://host/a.zarr/c/0", "c/0", asked, got)
    assert refusal is None if refused is None else isinstance(refusal, refused)
