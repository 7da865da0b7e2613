"""Chunks that arrive cut off or as a web page, from a real server on 127.0.0.1: refused as
one SegmentError, never kept in the chunk cache, and a damaged copy kept before is read again
from the server, so the segment reads right once the network does."""

from __future__ import annotations

from pathlib import Path

import numcodecs
import numpy as np
import pytest
import zarr

from inkloop._notify import InkloopWarning
from inkloop.io import SegmentError
from inkloop.io._remote import GuardedArray, guarded, open_zarr_url
from tests._http import MisbehavingHandler, serve

pytest.importorskip("aiohttp")

PAGE = b"<!DOCTYPE html>\n<html><body>Log in to the hotel Wi-Fi</body></html>"
LAYOUTS = {  # zarr format, compressors; the first chunk's key
    "v2 blosc": (2, numcodecs.Blosc(), "0.0.0"),
    "v2 raw": (2, None, "0.0.0"),
    "v3 raw": (3, None, "c/0/0/0"),
    "v3 zstd": (3, "auto", "c/0/0/0"),
}


class _Faulty(MisbehavingHandler):
    """Chunks as ``server.fault`` says: "cut" sends them with no Content-Length and closes
    the connection halfway (nothing tells the client they were longer), "portal" answers a
    web page in their place; None serves them whole."""

    def do_GET(self):  # noqa: N802  (http.server's name)
        name = self.path.rsplit("/", 1)[-1]
        if self.server.fault is None or name.startswith(".") or name == "zarr.json":
            return super().do_GET()
        self.server.requests.append(self.path)
        body = (Path(self.directory) / self.path.lstrip("/")).read_bytes()
        self.send_response(200)
        if self.server.fault == "portal":
            body = PAGE
            self.send_header("Content-Type", "text/html")
            self.send_header("Content-Length", str(len(PAGE)))
        self.end_headers()  # HTTP/1.0 with no length: the body ends where the connection does
        self.wfile.write(body if self.server.fault == "portal" else body[: len(body) // 2])
        self.close_connection = True
        return None


@pytest.fixture(autouse=True)
def no_pauses(monkeypatch):
    """Reads the server failed are tried again at once."""
    monkeypatch.setattr("inkloop.io._remote_store.RETRY_PAUSES_S", (0.0, 0.0, 0.0), raising=False)


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    """A 2 x 64 x 64 uint8 array in each of `LAYOUTS`, served as ``<layout>.zarr``."""
    root = tmp_path_factory.mktemp("served")
    volume = np.random.default_rng(0).integers(0, 255, (2, 64, 64), dtype=np.uint8)
    for name, (version, compressors, _) in LAYOUTS.items():
        array = zarr.create_array(
            root / f"{name.replace(' ', '_')}.zarr",
            shape=volume.shape,
            chunks=(1, 32, 32),
            dtype=volume.dtype,
            zarr_format=version,
            compressors=compressors,
        )
        array[:] = volume
    with serve(root, _Faulty) as (base, server):
        server.root = root
        yield base, server, volume


@pytest.fixture
def server(served):
    """`served`, healthy and with no request recorded yet."""
    _base, server, _volume = served
    server.fault = None
    server.requests.clear()
    return served


def _open(base: str, layout: str, cache: Path):
    url = f"{base}/{layout.replace(' ', '_')}.zarr"
    return GuardedArray(open_zarr_url(url, cache=cache, timeout=5.0), url)


def _kept(cache: Path) -> list[str]:
    return sorted(p.name for p in cache.rglob("*") if p.is_file())


@pytest.mark.parametrize("layout", LAYOUTS)
def test_a_chunk_cut_off_with_no_length_sent_is_refused_and_never_kept(server, tmp_path, layout):
    base, server, volume = server
    array = _open(base, layout, tmp_path)
    server.fault = "cut"

    with pytest.raises(SegmentError) as raised:
        array[0, :32, :32]

    key, url = LAYOUTS[layout][2], array.url
    assert str(raised.value).startswith(
        f"{url}: the server sent a truncated response (chunk {key} "
    )
    assert _kept(tmp_path) == []
    server.fault = None
    np.testing.assert_array_equal(array[0, :32, :32], volume[0, :32, :32])  # now kept
    assert _kept(tmp_path) == [key.rsplit("/", 1)[-1]]


@pytest.mark.parametrize("layout", ["v3 zstd", "v2 blosc"])
def test_a_web_page_in_place_of_a_chunk_is_said_to_be_one_and_never_kept(server, tmp_path, layout):
    base, server, volume = server
    array = _open(base, layout, tmp_path)
    server.requests.clear()
    server.fault = "portal"

    with pytest.raises(SegmentError) as raised:
        array[0, :32, :32]

    said = str(raised.value)
    assert "web page" in said
    assert LAYOUTS[layout][2] in said
    assert "Wi-Fi" in said
    assert len(server.requests) == 1  # a web page is no passing failure: asked once
    assert _kept(tmp_path) == []
    server.fault = None
    np.testing.assert_array_equal(array[0, :32, :32], volume[0, :32, :32])


@pytest.mark.parametrize(("layout", "damage"), [("v2 blosc", "cut"), ("v3 zstd", "page")])
def test_a_chunk_kept_damaged_before_is_read_again_from_the_server(
    server, tmp_path, layout, damage
):
    """A chunk kept cut off (as earlier versions could), or a Wi-Fi login's page."""
    base, server, volume = server
    name, key = layout.replace(" ", "_"), LAYOUTS[layout][2]
    whole = (server.root / f"{name}.zarr" / key).read_bytes()
    array = _open(base, layout, tmp_path)
    kept = array.array.store._store.kept_path(key)  # where its metadata's version keeps it
    kept.parent.mkdir(parents=True)
    kept.write_bytes(whole[: len(whole) // 2] if damage == "cut" else PAGE)

    np.testing.assert_array_equal(array[0, :32, :32], volume[0, :32, :32])

    assert kept.read_bytes() == whole


def test_a_kept_chunk_that_fails_decoding_is_read_again_from_the_server(server, tmp_path):
    """A chunk whose damage no header tells (here a whole zstd frame of too few bytes) fails
    in zarr's codec; `read_healing` forgets it and reads it again."""
    base, server, volume = server
    url = f"{base}/v3_zstd.zarr"
    array = open_zarr_url(url, cache=tmp_path, timeout=5.0)
    store = array.store
    kept = store._store.kept_path("c/0/0/0")
    kept.parent.mkdir(parents=True)
    kept.write_bytes(numcodecs.Zstd().encode(bytes(10)))

    with pytest.warns(InkloopWarning, match="chunks kept in the chunk cache were read again"):
        read = guarded(url, lambda: store.read_healing(lambda: array[0, :32, :32]), store)

    np.testing.assert_array_equal(read, volume[0, :32, :32])
    assert kept.read_bytes() == (server.root / "v3_zstd.zarr" / "c" / "0" / "0" / "0").read_bytes()
