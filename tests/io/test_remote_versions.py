"""Versioned labels on a server (``<id>_inklabels_vN.png`` with ``<id>_supervision_mask_vN.png``):
a URL opens the labels its folder would open from disk, the greatest version, found in the
folder's listing or, where the server lists no folders, by asking for _v2, _v3, …"""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from inkloop._notify import InkloopWarning
from inkloop.io import open_segment, write_label_files
from inkloop.io._remote import local_folder
from tests._http import NAME, serve
from tests.io._side_file_faults import SideFileFaults, write_served_folders

pytest.importorskip("aiohttp")


@pytest.fixture(scope="module")
def served(tmp_path_factory, synthetic):
    root = tmp_path_factory.mktemp("served")
    pair = write_served_folders(root, synthetic)
    with serve(root, SideFileFaults) as (base, server):
        yield base, server, pair, root


def _opened(url: str):
    with warnings.catch_warnings(record=True) as warned:
        warnings.simplefilter("always")
        segment = open_segment(url)
    return segment, [str(w.message) for w in warned if w.category is InkloopWarning]


@pytest.mark.parametrize("listing", ["", "unlisted/", "s3/"])  # an autoindex; 404s; 403s
@pytest.mark.parametrize("folder", ["versions", "v2only"])
def test_a_url_opens_the_greatest_labels_version_as_its_folder_does(served, listing, folder):
    base, _server, pair, root = served
    on_disk = open_segment(root / folder / f"{NAME}.zarr")

    segment, _told = _opened(f"{base}/{listing}{folder}/{NAME}.zarr")

    assert {key: path.name for key, path in segment.files.items()} == {
        key: path.name for key, path in on_disk.files.items()
    }
    assert segment.files["ink_labels"].name == f"{NAME}_inklabels_v2.png"
    np.testing.assert_array_equal(np.asarray(segment.ink_labels), pair["ink"])
    np.testing.assert_array_equal(np.asarray(segment.supervision), pair["supervision"] > 0)


def test_a_listing_fetches_only_the_current_version(served):
    base, server, _pair, _root = served
    server.requests.clear()

    _opened(f"{base}/versions/{NAME}.zarr")

    pngs = sorted(path.rsplit("/", 1)[-1] for path in server.requests if path.endswith(".png"))
    stems = ("inklabels_v2", "mask", "supervision_mask_v2")
    assert pngs == [f"{NAME}_{stem}.png" for stem in stems]


def test_versions_that_cannot_be_looked_for_are_said_to_be_so_once(served):
    base, _server, _pair, _root = served
    url = f"{base}/versionfails/unlisted/versions/{NAME}.zarr"

    segment, told = _opened(url)

    assert segment.files["ink_labels"].name == f"{NAME}_inklabels.png"
    said = [message for message in told if "could not be looked for" in message]
    assert said == [
        f"{base}/versionfails/unlisted/versions: versioned labels ({NAME}_inklabels_vN.png) "
        f"could not be looked for (the server answered 500 Internal Server Error): only the "
        f"unversioned labels ({NAME}_inklabels.png) are opened"
    ]


def test_labels_painted_on_an_older_version_are_said_to_be_kept_but_not_opened(served):
    base, _server, pair, _root = served
    url = f"{base}/versions/{NAME}.zarr"
    painted = local_folder(url) / f"{NAME}_inklabels.png"
    painted.parent.mkdir(parents=True)
    write_label_files(painted, pair["ink"], pair["supervision"] > 0)  # as the dock saves

    segment, told = _opened(url)

    assert segment.files["ink_labels"].name == f"{NAME}_inklabels_v2.png"
    assert painted.is_file()
    assert [message for message in told if str(painted) in message] == [
        f"{painted}: labels painted here, kept, but {NAME}_inklabels_v2.png (version 2), "
        "fetched now from the server, is opened: the greatest version is the current one. "
        f"To open yours instead, rename it {NAME}_inklabels_v3.png and its supervision mask "
        f"{NAME}_supervision_mask.png {NAME}_supervision_mask_v3.png"
    ]
