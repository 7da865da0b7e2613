"""A segment read over HTTP keeps its chunks by default (training reads the same chunks over
and over), under ``chunks`` in inkloop's cache folder; $INKLOOP_CHUNK_CACHE=off or
``cache=False`` keeps none, and a folder named there or in ``cache`` still wins."""

from __future__ import annotations

import importlib.util
import warnings

import numpy as np
import pytest

from inkloop._notify import InkloopWarning
from inkloop.io import open_segment
from inkloop.io._remote import CHUNK_CACHE_ENV, local_folder
from inkloop.io._sidefiles import side_folder

pytest.importorskip("aiohttp")


@pytest.fixture
def default_base(tmp_path, monkeypatch):
    """The default chunk cache, here in this test's folder; $INKLOOP_CHUNK_CACHE unset."""
    monkeypatch.delenv(CHUNK_CACHE_ENV, raising=False)
    monkeypatch.setattr("inkloop.io._homes.chunk_cache_home", lambda: tmp_path / "chunks")
    return tmp_path / "chunks"


def _read_twice(url, server, **options) -> list[str]:
    """The chunks the server was asked for by a second read of the region a first read read."""
    open_segment(url, **options).read([1], slice(0, 32), slice(32, 64))
    server.requests.clear()
    open_segment(url, **options).read([1], slice(0, 32), slice(32, 64))
    return [path for path in server.requests if "/c/" in path]


def _kept(base) -> list:
    return [path for path in base.rglob("*") if path.is_file()] if base.exists() else []


def test_a_url_keeps_its_chunks_in_the_cache_folder_by_default(served_segment, default_base):
    url, server, volume = served_segment
    with warnings.catch_warnings(record=True) as warned:
        warnings.simplefilter("always")
        assert _read_twice(url, server) == []  # the second read asks the server for nothing

    (chunk,) = (local_folder(url, default_base) / "chunks" / "0").glob("@*/c/1/0/1")
    np.testing.assert_array_equal(
        open_segment(url).read([1], slice(0, 32), slice(32, 64)), volume[1:2, :32, 32:64]
    )
    assert _kept(default_base) == [chunk]
    # the segment's labels stay in the data folder, and nothing is said to move
    assert not (side_folder(open_segment(url)) / "chunks").exists()
    assert [str(w.message) for w in warned if w.category is InkloopWarning] == []


def test_the_default_cache_folder_is_chunks_in_inkloops_cache_folder():
    spec = importlib.util.find_spec("inkloop.io._homes")  # as defined: conftest redirects it
    homes = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(homes)
    assert homes.chunk_cache_home() == homes.cache_home() / "chunks"


@pytest.mark.parametrize("setting", ["off", "OFF", "0", "no", "None", "cache=False"])
def test_off_or_cache_false_keeps_no_chunk(served_segment, default_base, monkeypatch, setting):
    url, server, _volume = served_segment
    options = {"cache": False} if setting == "cache=False" else {}
    if not options:
        monkeypatch.setenv(CHUNK_CACHE_ENV, setting)

    assert len(_read_twice(url, server, **options)) == 1  # asked again
    assert _kept(default_base) == []


def test_a_folder_in_the_environment_still_wins(
    served_segment, default_base, tmp_path, monkeypatch
):
    url, server, _volume = served_segment
    monkeypatch.setenv(CHUNK_CACHE_ENV, str(tmp_path / "mine"))

    assert _read_twice(url, server) == []
    assert _kept(default_base) == []
    assert list((local_folder(url, tmp_path / "mine") / "chunks" / "0").glob("@*/c/1/0/1"))


def test_an_unwritable_default_folder_reads_without_a_cache_and_says_so(
    served_segment, tmp_path, monkeypatch
):
    url, server, volume = served_segment
    (tmp_path / "a file").write_bytes(b"")  # a folder cannot be made in it, even by root
    monkeypatch.delenv(CHUNK_CACHE_ENV, raising=False)
    monkeypatch.setattr("inkloop.io._homes.chunk_cache_home", lambda: tmp_path / "a file" / "c")

    with pytest.warns(InkloopWarning, match="chunks read from servers are not kept"):
        chunks = _read_twice(url, server)

    assert len(chunks) == 1
    patch = open_segment(url).read([1], slice(0, 32), slice(32, 64))
    np.testing.assert_array_equal(patch, volume[1:2, :32, 32:64])


def test_a_chunk_the_cache_cannot_write_is_still_read_and_said(
    served_segment, default_base, monkeypatch
):
    import errno

    url, _server, volume = served_segment

    def over_quota(path, **_options):
        raise OSError(errno.EDQUOT, "Disk quota exceeded", str(path))

    monkeypatch.setattr("inkloop.io._chunk_cache.atomic_path", over_quota)  # a cluster's home

    with pytest.warns(InkloopWarning, match="not kept there .*Disk quota exceeded"):
        patch = open_segment(url).read([1], slice(0, 32), slice(32, 64))

    np.testing.assert_array_equal(patch, volume[1:2, :32, 32:64])
    assert _kept(default_base) == []
