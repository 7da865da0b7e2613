"""A zarr is opened as a segment only where its arrays hold numbers, through codecs that
cannot run code, in chunks that fit in memory: judged from its metadata, on disk and over
HTTP alike, before any chunk is read."""

from __future__ import annotations

import json
import pickle

import numcodecs
import numcodecs.abc
import numcodecs.compat
import numcodecs.registry
import numpy as np
import pytest
import zarr

from inkloop.io import SegmentError, open_segment
from tests._http import serve

SHAPE = [3, 64, 64]


class _Touches:
    """A pickle that, loaded, creates the file ``path``: code a zarr's author chose."""

    def __init__(self, path) -> None:
        self.path = str(path)

    def __reduce__(self):
        return open, (self.path, "w")


def _v2_array(folder, *, dtype="|u1", chunks=SHAPE, compressor=None, filters=None, chunk=b""):
    """A zarr v2 array written by hand, as a stranger's metadata may say anything."""
    folder.mkdir(parents=True)
    metadata = {"zarr_format": 2, "shape": SHAPE, "chunks": chunks, "dtype": dtype}
    metadata.update(compressor=compressor, filters=filters, fill_value=0, order="C")
    (folder / ".zarray").write_text(json.dumps(metadata))
    if chunk:
        (folder / "0.0.0").write_bytes(chunk)
    return folder


@pytest.fixture
def pickled_zarr(tmp_path, monkeypatch):
    """A text array whose filters end in numcodecs' pickle, which zarr accepts behind
    vlen-utf8, and the file its chunk's code would create; with numcodecs' own guard off,
    as numcodecs before 0.15.2 (and 0.17.0) had none."""
    monkeypatch.setattr(numcodecs.pickles, "ALLOW_UNSAFE_PICKLE_DECODE", True)
    marker = tmp_path / "code_ran"
    filters = [{"id": "vlen-utf8"}, {"id": "pickle", "protocol": 4}]
    chunk = pickle.dumps(_Touches(marker), protocol=4)
    return _v2_array(tmp_path / "served" / "evil.zarr", dtype="|O", filters=filters, chunk=chunk)


def test_a_pickle_codec_behind_text_is_refused_naming_it_and_never_runs(pickled_zarr):
    with pytest.raises(SegmentError) as refused:
        open_segment(pickled_zarr)

    assert str(refused.value) == (
        f"{pickled_zarr}: its array holds text or objects (data type StringDType(); codecs "
        "vlen-utf8, pickle), not CT layers: refused, as a pickle codec would run any code "
        "the file holds"
    )
    assert not (pickled_zarr.parent.parent / "code_ran").exists()


def test_a_pickle_codec_is_refused_over_http_too(pickled_zarr):
    pytest.importorskip("aiohttp")
    with serve(pickled_zarr.parent) as (base, _server), pytest.raises(SegmentError) as refused:
        open_segment(f"{base}/evil.zarr")

    assert str(refused.value).startswith(f"{base}/evil.zarr: its array holds text or objects")
    assert not (pickled_zarr.parent.parent / "code_ran").exists()


def test_text_without_any_pickle_is_refused_as_no_ct_layers(tmp_path):
    text = _v2_array(tmp_path / "text.zarr", dtype="|O", filters=[{"id": "vlen-utf8"}])

    with pytest.raises(SegmentError, match=r"holds text or objects \(data type StringDType\(\)"):
        open_segment(text)


class _Reversed(numcodecs.abc.Codec):
    """A codec of a package inkloop does not know: it may decode anything, run anything."""

    codec_id = "inkloop_test_reversed"

    def encode(self, buf):
        return bytes(buf)[::-1]

    def decode(self, buf, out=None):
        return numcodecs.compat.ndarray_copy(bytes(buf)[::-1], out)


def test_numbers_through_a_codec_inkloop_does_not_know_are_refused(tmp_path, monkeypatch):
    monkeypatch.setitem(numcodecs.registry.codec_registry, _Reversed.codec_id, _Reversed)
    stored = _v2_array(tmp_path / "odd.zarr", compressor={"id": _Reversed.codec_id})

    with pytest.raises(SegmentError) as refused:
        open_segment(stored)

    assert str(refused.value) == (
        f"{stored}: its array is stored through the codec inkloop_test_reversed, not one of "
        "those inkloop reads CT layers through (zarr's and numcodecs' codecs for numbers): "
        "refused"
    )


@pytest.mark.parametrize(
    "codecs",
    [
        {"compressors": numcodecs.Blosc(), "filters": numcodecs.Delta("<u2"), "zarr_format": 2},
        {"compressors": "auto", "shards": (3, 64, 64)},  # zstd inside a shard, crc32c index
    ],
    ids=["v2 blosc after delta", "v3 sharded"],
)
def test_numbers_through_common_codecs_open(tmp_path, codecs):
    volume = np.arange(3 * 64 * 64, dtype=np.uint16).reshape(SHAPE)
    zarr.create_array(tmp_path / "layers.zarr", data=volume, chunks=(1, 32, 32), **codecs)

    segment = open_segment(tmp_path / "layers.zarr")

    np.testing.assert_array_equal(segment.volume.compute(), volume)


def test_a_chunk_over_a_gibibyte_is_refused_before_any_read(tmp_path):
    """3 x 20000 x 20000 bytes, a 1 MB zlib file, took 2 GB to read an 8 x 8 tile of."""
    big = _v2_array(tmp_path / "big.zarr", chunks=[1, 40000, 40000])

    with pytest.raises(SegmentError) as refused:
        open_segment(big)

    assert str(refused.value) == (
        f"{big}: each chunk of its array is 1 x 40000 x 40000 uint8, 1.5 GiB decoded, which "
        "reading any tile of it holds in memory (inkloop reads chunks of up to 1 GiB): "
        "rechunk it, e.g. to 1 x 2048 x 2048 (2048 x 2048 pixels of one layer)"
    )


@pytest.mark.parametrize(
    ("shape", "advice"),
    [((65, 20000, 30000), "1 x 2048 x 2048"), ((20000, 30000, 65), "2048 x 2048 x 1")],
    ids=["layers first", "depth-last"],
)
def test_the_advice_for_a_chunk_too_big_is_in_the_arrays_own_axis_order(tmp_path, shape, advice):
    """A depth-last segment (H x W x Z) is rechunked to one layer a chunk as it is stored."""
    zarr.create_array(tmp_path / "big.zarr", shape=shape, chunks=shape, dtype="uint8")

    with pytest.raises(SegmentError) as refused:
        open_segment(tmp_path / "big.zarr")

    assert str(refused.value).endswith(
        f"rechunk it, e.g. to {advice} (2048 x 2048 pixels of one layer)"
    )


def test_a_sharded_array_is_judged_by_its_inner_chunks(tmp_path):
    """A shard is one file, read in parts: 1.6 GB shards of 16 MB chunks are fine."""
    sizes = {"shape": (1, 40000, 40000), "dtype": "uint8", "shards": (1, 40000, 40000)}
    zarr.create_array(tmp_path / "fine.zarr", chunks=(1, 4000, 4000), **sizes)
    zarr.create_array(tmp_path / "whole.zarr", chunks=(1, 40000, 40000), **sizes)

    assert open_segment(tmp_path / "fine.zarr").shape == (1, 40000, 40000)
    with pytest.raises(SegmentError, match="each chunk of its array is 1 x 40000 x 40000"):
        open_segment(tmp_path / "whole.zarr")


def test_a_huge_chunk_is_refused_over_http_too(tmp_path):
    pytest.importorskip("aiohttp")
    _v2_array(tmp_path / "big.zarr", chunks=[3, 20000, 20000])

    with serve(tmp_path) as (base, _server), pytest.raises(SegmentError) as refused:
        open_segment(f"{base}/big.zarr")

    assert str(refused.value).startswith(
        f"{base}/big.zarr: each chunk of its array is 3 x 20000 x 20000 uint8, 1.1 GiB decoded"
    )
