"""Remote segments, from a real server on 127.0.0.1: one local folder for every spelling of a
URL, no login in what is written or printed, a chunk missing on the server told once, a
refused login named as such with no read left running, and the Zarr-only hint where the
server lists no folders."""

from __future__ import annotations

import hashlib
import json
import shutil
import warnings

import numpy as np
import pytest

from inkloop._notify import InkloopWarning
from inkloop.cli import main
from inkloop.io import SegmentError, initial_labels, open_segment, save_labels
from inkloop.io._remote import local_folder
from inkloop.io._sidefiles import side_folder
from tests._http import LOGIN, NAME, serve, write_served_segment

pytest.importorskip("aiohttp")

HOLES = ("0/c/3/0/0", "0/c/3/0/1")  # chunks of layer 3 missing on the server under /holed/


@pytest.fixture(scope="module")
def served(tmp_path_factory, synthetic):
    """A synthetic OME-Zarr segment served on 127.0.0.1, and a copy of it under /holed/
    with `HOLES` deleted."""
    root = tmp_path_factory.mktemp("served")
    volume = write_served_segment(root, NAME, synthetic)
    holed = root / "holed" / f"{NAME}.zarr"
    shutil.copytree(root / f"{NAME}.zarr", holed)
    for key in HOLES:
        (holed / key).unlink()
    with serve(root) as (base, server):
        yield base, server, volume


def _with_login(url: str, login=LOGIN) -> str:
    return url.replace("://", "://{}:{}@".format(*login))


def test_every_spelling_of_a_url_names_one_folder(tmp_path):
    url = "http://data.example:8765/segs/s.zarr"
    spellings = [
        f"{url}/",
        "HTTP://DATA.example:8765/segs/s.zarr",
        "http://data.example:8765//segs//s.zarr",
        "http://user:secret@data.example:8765/segs/s.zarr/",
    ]
    assert {local_folder(spelled, tmp_path) for spelled in spellings} == {
        local_folder(url, tmp_path)
    }
    # spelled the usual way, it names the folder earlier versions gave it: labels stay found
    digest = hashlib.sha1(url.encode()).hexdigest()[:10]
    assert local_folder(url, tmp_path) == tmp_path / "data.example_8765" / f"s.zarr-{digest}"


def test_labels_saved_under_one_spelling_open_under_the_others(served):
    base, _server, volume = served
    url = f"{base}/{NAME}.zarr"
    ink = np.zeros(volume.shape[1:], np.uint8)
    ink[30:40, 50:90] = 255
    save_labels(open_segment(f"{url}/"), ink, ink > 0)

    for spelled in (url, url.replace("http://", "HTTP://"), url.replace(f"/{NAME}", f"//{NAME}")):
        labels, supervised, _where, _found = initial_labels(open_segment(spelled))
        np.testing.assert_array_equal(labels == 255, ink == 255)
        np.testing.assert_array_equal(supervised, ink > 0)


def test_a_folder_named_by_the_url_as_typed_moves_to_the_one_all_spellings_name(served, data_home):
    """Earlier versions named the folder by the URL as typed: labels painted on ``URL/``
    are found again when it is typed so, in the folder every spelling names."""
    from PIL import Image

    base, _server, volume = served
    typed = f"{base}/{NAME}.zarr/"
    digest = hashlib.sha1(typed.encode()).hexdigest()[:10]
    host = base.removeprefix("http://").replace(":", "_")
    earlier = data_home / "remote" / host / f"{NAME}.zarr-{digest}"
    earlier.mkdir(parents=True)
    painted = np.full(volume.shape[1:], 77, np.uint8)  # the user's work
    Image.fromarray(painted).save(earlier / f"{NAME}_inklabels.png")

    with warnings.catch_warnings(record=True) as warned:
        warnings.simplefilter("always")
        folder = side_folder(open_segment(typed))

    assert folder == local_folder(f"{base}/{NAME}.zarr") != earlier
    np.testing.assert_array_equal(np.asarray(Image.open(folder / f"{NAME}_inklabels.png")), painted)
    assert [str(w.message) for w in warned if w.category is InkloopWarning] == [
        f"{typed}: its labels and models moved from {earlier} to {folder}"
    ]


def test_inkloop_info_prints_a_url_without_its_login(served, capsys):
    base, _server, _volume = served
    url = f"{base}/private/{NAME}.zarr"
    assert main(["info", _with_login(url)]) == 0
    printed = capsys.readouterr().out
    assert json.loads(printed)["path"] == url
    assert "{}:{}@".format(*LOGIN) not in printed


def test_a_checkpoint_records_a_url_without_its_login(served):
    from inkloop.engine._build import checkpoint_provenance
    from inkloop.settings import EngineSettings
    from inkloop.train import LabelStore

    base, _server, _volume = served
    url = f"{base}/private/{NAME}.zarr"
    segment = open_segment(_with_login(url))
    labels = LabelStore(np.asarray(segment.ink_labels), np.asarray(segment.mask))

    provenance = checkpoint_provenance(EngineSettings(), segment, labels)

    assert provenance["segment_path"] == url
    assert LOGIN[0] not in json.dumps(provenance)


def test_inkloop_info_hides_the_login_an_earlier_checkpoint_recorded(tmp_path, capsys):
    from inkloop.checkpoint import Checkpoint, save_checkpoint
    from inkloop.compose import Composition, Normalisation
    from inkloop.model import build_model
    from inkloop.settings import ModelConfig

    config = ModelConfig(encoder="tu-test_resnet", decoder_channels=(16, 8, 8), in_channels=5)
    url = "https://data.example/paths/a.zarr"
    checkpoint = Checkpoint(
        model=config,
        composition=Composition("raw+diff", 2, 3, scale=2).resolve(8),
        normalisation=Normalisation(1000.0, 40000.0, (0.5, 99.5)),
        patch_size=64,
        step=1,
        state_dict=build_model(config).state_dict(),
        provenance={"segment_path": _with_login(url, ("someone", "secret"))},
    )
    path = save_checkpoint(tmp_path / "model.pt", checkpoint)

    assert main(["info", str(path)]) == 0
    printed = capsys.readouterr().out
    assert json.loads(printed)["provenance"]["segment_path"] == url
    assert "secret" not in printed


def test_a_chunk_missing_on_the_server_is_told_once_and_reads_blank(served):
    base, _server, volume = served
    url = f"{base}/holed/{NAME}.zarr"
    segment = open_segment(url)

    with warnings.catch_warnings(record=True) as warned:
        warnings.simplefilter("always")
        patch = segment.read([2, 3, 4], slice(0, 32), slice(0, 64))  # holes: 3 at 0 and 32
        segment.read([3], slice(0, 32), slice(0, 32))  # the same chunk again

    np.testing.assert_array_equal(patch[[0, 2]], volume[[2, 4], :32, :64])
    assert not patch[1].any()  # zarr's fill value
    told = [str(w.message) for w in warned if w.category is InkloopWarning]
    assert len(told) == 1
    assert told[0].startswith(f"{url}: chunk ")
    assert any(f"chunk {key} is missing on the server (404)" in told[0] for key in HOLES)


def test_a_login_in_the_url_refused_is_told_so_and_leaves_no_read_running(served, monkeypatch):
    """Reads still on their way when the first answer is a 401 must have ended before the
    error is told (else they end at exit, after their event loop closed: 'Event loop is
    closed' on stderr); they are let finish here (a grace longer than the server's lag),
    whatever the machine's load. The zarr's format is asked first, its three keys together,
    each answered before the error is told."""
    from inkloop.io import _remote_store

    monkeypatch.setattr(_remote_store, "SETTLE_GRACE_S", 30.0)
    base, server, _volume = served
    server.requests.clear()
    server.refused.clear()
    url = f"{base}/private/lagging/{NAME}.zarr"  # all but zarr.json answered late

    with pytest.raises(SegmentError, match="the login in the URL was refused") as raised:
        open_segment(_with_login(url, ("someone", "secret")))

    assert str(raised.value).startswith(f"{url}: ")
    assert ".netrc" not in str(raised.value)
    keys = {f"/private/lagging/{NAME}.zarr/{key}" for key in ("zarr.json", ".zarray", ".zgroup")}
    assert set(server.requests) == keys
    assert sorted(server.refused) == sorted(server.requests)  # every answer had come


def test_a_folder_of_tiff_layers_on_a_server_without_listings_says_what_to_do(served):
    base, _server, _volume = served
    url = f"{base}/unlisted/layers/"
    hint = r"only \(OME-\)Zarr.*download it \(into \./unlisted/\).*wget -r -np -nH --cut-dirs=0"
    with pytest.raises(SegmentError, match=hint) as raised:
        open_segment(url)
    assert str(raised.value).startswith(f"{url}: not found on the server (404)")
