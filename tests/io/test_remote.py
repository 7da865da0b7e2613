"""Segments over HTTP from a real server on 127.0.0.1: lazy chunk reads, side files, a chunk
cache, logins, and one clear message for a 404, a stalled server and a truncated chunk."""

from __future__ import annotations

import numpy as np
import pytest

from inkloop._notify import InkloopWarning
from inkloop.cli import main
from inkloop.io import SegmentError, open_segment
from inkloop.io._remote import local_folder
from inkloop.io._sidefiles import side_folder
from tests._http import LOGIN, NAME, serve, write_served_segment

pytest.importorskip("aiohttp")


@pytest.fixture(scope="module")
def served(tmp_path_factory, synthetic):
    """A synthetic OME-Zarr segment with its mask and labels, served on 127.0.0.1."""
    root = tmp_path_factory.mktemp("served")
    volume = write_served_segment(root, NAME, synthetic)
    with serve(root) as (base, server):
        yield base, server, volume


def _chunk_requests(server) -> list[str]:
    return [p for p in server.requests if "/c/" in p]


def test_only_the_chunks_a_patch_needs_are_fetched(served, data_home, synthetic):
    base, server, volume = served
    url = f"{base}/{NAME}.zarr"
    segment = open_segment(url)
    assert segment.shape == volume.shape
    assert segment.path == url
    server.requests.clear()

    patch = segment.read([2, 3], slice(40, 60), slice(10, 30))

    np.testing.assert_array_equal(patch, volume[2:4, 40:60, 10:30])
    assert sorted(_chunk_requests(server)) == [
        f"/{NAME}.zarr/0/c/{z}/1/0" for z in (2, 3)
    ]  # 2 layers x 1 chunk of 32², nothing else
    np.testing.assert_array_equal(np.asarray(segment.mask), synthetic.mask)
    folder = side_folder(segment)
    assert folder == local_folder(url)
    assert folder.is_relative_to(data_home)  # labels are saved here, not on the server
    assert (folder / f"{NAME}_inklabels.png").is_file()


def test_the_chunk_cache_serves_a_second_read(served, tmp_path):
    base, server, volume = served
    url = f"{base}/{NAME}.zarr"
    first = open_segment(url, cache=tmp_path)
    first.read([0], slice(0, 32), slice(0, 32))
    server.requests.clear()

    again = open_segment(url, cache=tmp_path).read([0], slice(0, 32), slice(0, 32))

    np.testing.assert_array_equal(again, volume[:1, :32, :32])
    assert _chunk_requests(server) == []
    assert side_folder(first) == local_folder(url)  # the labels stay out of the chunk cache


def test_labels_kept_in_a_cache_by_earlier_versions_move_to_the_data_folder(
    served, data_home, tmp_path, monkeypatch
):
    import warnings

    from PIL import Image

    from inkloop._notify import InkloopWarning

    base, _server, volume = served
    url = f"{base}/{NAME}.zarr"
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    earlier = local_folder(url, tmp_path / "cache" / "inkloop" / "remote")
    (earlier / "chunks").mkdir(parents=True)
    painted = np.full(volume.shape[1:], 77, np.uint8)  # the user's work
    Image.fromarray(painted).save(earlier / f"{NAME}_inklabels.png")

    with warnings.catch_warnings(record=True) as warned:
        warnings.simplefilter("always")
        folder = side_folder(open_segment(url))

    kept = np.asarray(Image.open(folder / f"{NAME}_inklabels.png"))
    np.testing.assert_array_equal(kept, painted)  # not the server's, fetched anew
    assert not (folder / "chunks").exists()  # a cache stays where caches go
    assert folder.is_relative_to(data_home)
    assert [str(w.message) for w in warned if w.category is InkloopWarning] == [
        f"{url}: its labels and models moved from {earlier} to {folder}"
    ]


@pytest.mark.parametrize("earlier_home", ["home/.local/share/inkloop/remote", "env"])
def test_labels_kept_where_earlier_versions_kept_them_move_to_the_platforms_folder(
    served, tmp_path, monkeypatch, earlier_home
):
    """Before the platform's folders, remote segments' folders were in ~/.local/share on
    every OS, or in $INKLOOP_DATA itself; on macOS and Windows, or with $INKLOOP_DATA set,
    a segment opened again found none of its labels there."""
    from PIL import Image

    base, _server, volume = served
    url = f"{base}/{NAME}.zarr"
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    if earlier_home == "env":  # $INKLOOP_DATA, now inkloop's data folder, named this one
        earlier = local_folder(url, tmp_path / "data")
        monkeypatch.setenv("INKLOOP_DATA", str(tmp_path / "data"))
    else:  # a platform whose data folder is not ~/.local/share
        earlier = local_folder(url, tmp_path / earlier_home)
        monkeypatch.delenv("INKLOOP_DATA")
        monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "platform"))
    earlier.mkdir(parents=True)
    painted = np.full(volume.shape[1:], 77, np.uint8)  # the user's work
    Image.fromarray(painted).save(earlier / f"{NAME}_inklabels.png")

    with pytest.warns(InkloopWarning, match="its labels and models moved from"):
        folder = side_folder(open_segment(url))

    assert folder != earlier
    assert folder.parent.parent.name == "remote"
    kept = np.asarray(Image.open(folder / f"{NAME}_inklabels.png"))
    np.testing.assert_array_equal(kept, painted)


def test_remote_segments_folders_are_user_data_not_a_cache(monkeypatch, tmp_path):
    monkeypatch.delenv("INKLOOP_DATA")
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path))
    folder = local_folder("https://data.example/paths/a.zarr")
    assert folder.parent == tmp_path / "inkloop" / "remote" / "data.example"


def test_the_chunk_cache_can_come_from_the_environment(served, tmp_path, monkeypatch):
    base, _server, volume = served
    monkeypatch.setenv("INKLOOP_CHUNK_CACHE", str(tmp_path / "chunks"))
    url = f"{base}/{NAME}.zarr"
    patch = open_segment(url).read([1], slice(0, 32), slice(32, 64))
    np.testing.assert_array_equal(patch, volume[1:2, :32, 32:64])
    cached = local_folder(url, tmp_path / "chunks") / "chunks" / "0"
    assert [p.is_file() for p in cached.glob("@*/c/1/0/1")] == [True]  # under one version


def test_the_chunk_cache_asks_the_server_for_a_v2_groups_consolidated_metadata(tmp_path):
    """zarr opens a v2 group through its .zmetadata: a cached copy kept the old shape after
    the server's array grew."""
    import zarr

    from inkloop.io._remote import open_zarr_url

    root = tmp_path / "served_v2"
    group = zarr.open_group(str(root / "seg.zarr"), mode="w", zarr_format=2)
    group.create_array("0", shape=(4, 8, 8), chunks=(4, 8, 8), dtype="uint8")[:] = 7
    zarr.consolidate_metadata(str(root / "seg.zarr"))
    with serve(root) as (base, _server):
        url, cache = f"{base}/seg.zarr", tmp_path / "cache"
        assert open_zarr_url(url, cache=cache)["0"].shape == (4, 8, 8)
        group["0"].resize((6, 8, 8))  # the server's copy changes
        zarr.consolidate_metadata(str(root / "seg.zarr"))

        assert open_zarr_url(url, cache=cache)["0"].shape == (6, 8, 8)


def test_a_404_is_one_message_naming_the_url(served, data_home):
    base, _server, _volume = served
    url = f"{base}/missing/{NAME}.zarr"
    with pytest.raises(SegmentError, match="not found on the server") as raised:
        open_segment(url)
    assert url in str(raised.value)


def test_a_server_that_asks_for_a_login_gets_it_from_netrc(
    served, data_home, tmp_path, monkeypatch, synthetic
):
    """As the community's data server does: without a login, one message says where to put
    it; with it in the file $NETRC names (~/.netrc by default), the segment reads."""
    base, _server, volume = served
    url = f"{base}/private/{NAME}.zarr"
    monkeypatch.setenv("NETRC", str(tmp_path / "absent"))
    with pytest.raises(SegmentError, match="asks for a login") as raised:
        open_segment(url)
    assert url in str(raised.value)
    assert "machine 127.0.0.1 login" in str(raised.value)

    netrc = tmp_path / "netrc"
    netrc.write_text(f"machine 127.0.0.1 login {LOGIN[0]} password {LOGIN[1]}\n")
    netrc.chmod(0o600)
    monkeypatch.setenv("NETRC", str(netrc))
    segment = open_segment(url)

    np.testing.assert_array_equal(
        segment.read([1], slice(0, 40), slice(8, 40)), volume[1:2, :40, 8:40]
    )
    np.testing.assert_array_equal(np.asarray(segment.mask), synthetic.mask)  # side files too

    monkeypatch.setenv("NETRC", str(tmp_path / "absent"))  # or the login written in the URL
    logged_in = url.replace("://", "://{}:{}@".format(*LOGIN))
    assert open_segment(logged_in).shape == volume.shape


def test_a_login_in_a_url_names_no_folder_and_shows_in_no_message(served, data_home, tmp_path):
    url = "https://data.example:8443/paths/a.zarr"
    folder = local_folder(url.replace("://", "://user:secret@"), tmp_path)
    assert folder == local_folder(url, tmp_path)  # the labels stay where they were
    assert folder.parent == tmp_path / "data.example_8443"

    base, _server, _volume = served
    wrong = f"{base}/private/{NAME}.zarr".replace("://", "://someone:secret@")
    with pytest.raises(SegmentError, match="the login in the URL was refused") as raised:
        open_segment(wrong)
    assert "secret" not in str(raised.value)
    assert f"{base}/private/{NAME}.zarr" in str(raised.value)


def test_a_folder_of_tiff_layers_over_http_says_what_to_do(served, data_home):
    """The data server also lists segments as folders of TIFF layers: not read over HTTP."""
    base, _server, _volume = served
    hint = r"no zarr.json, .zarray or .zgroup there.*download it.*wget -r -np"
    with pytest.raises(SegmentError, match=hint) as raised:
        open_segment(f"{base}/layers/")
    assert f"{base}/layers/" in str(raised.value)


def test_a_stalled_server_times_out_and_leaves_nothing(served, data_home):
    base, _server, _volume = served
    url = f"{base}/stall/{NAME}.zarr"
    with pytest.raises(SegmentError, match="did not answer in time") as raised:
        open_segment(url, timeout=0.5)
    assert url in str(raised.value)
    assert not data_home.exists() or not any(p.is_file() for p in data_home.rglob("*"))


def test_a_truncated_chunk_is_refused_and_never_cached(served, tmp_path, data_home):
    base, _server, _volume = served
    url = f"{base}/truncate/{NAME}.zarr"
    segment = open_segment(url, cache=tmp_path)
    with pytest.raises(SegmentError, match="truncated") as raised:
        segment.read([0], slice(0, 32), slice(0, 32))
    assert url in str(raised.value)
    assert not (local_folder(url, tmp_path) / "chunks").exists()


def test_inkloop_info_reads_a_url(served, data_home, capsys):
    base, _server, volume = served
    assert main(["info", f"{base}/{NAME}.zarr"]) == 0
    assert f'"shape": {list(volume.shape)}' in capsys.readouterr().out


def test_batch_worker_processes_read_a_remote_segment(served, data_home):
    from inkloop.compose import sample_normalisation
    from inkloop.train import LabelStore, PatchSampler, ProcessBatchStream
    from tests._helpers import FULL_RESOLUTION

    base, server, _ = served
    segment = open_segment(f"{base}/{NAME}.zarr")
    composition = FULL_RESOLUTION.resolve(segment.shape[0])
    labels = LabelStore(np.asarray(segment.ink_labels), np.asarray(segment.mask))
    sampler = PatchSampler(
        segment, composition, sample_normalisation(segment, composition), labels, patch_size=32
    )
    server.requests.clear()
    stream = ProcessBatchStream(sampler, 4, workers=1)
    try:
        batch = stream.next()
    finally:
        stream.close()
    assert batch.layers.shape == (4, composition.z_count, 32, 32)
    assert batch.weight[:, 16, 16].all()
    assert _chunk_requests(server)  # the worker fetched its chunks from the server itself


def test_a_pyramid_level_named_but_not_served_is_one_segment_error(tmp_path, synthetic):
    import zarr

    root = tmp_path / "served_levels"
    root.mkdir()
    write_served_segment(root, NAME, synthetic)
    group = zarr.open_group(str(root / f"{NAME}.zarr"), mode="a")
    levels = [{"path": "0"}, {"path": "1"}]  # level 1 was never written
    group.attrs["ome"] = {"version": "0.5", "multiscales": [{"datasets": levels}]}
    with serve(root) as (base, _server), pytest.raises(SegmentError) as raised:
        open_segment(f"{base}/{NAME}.zarr")
    assert str(raised.value) == (
        f"{base}/{NAME}.zarr: its multiscales metadata names the level '1', which is not there"
    )
