"""A zarr's format is found before it is opened: a server that answers a metadata file it
lacks with a 403 (S3, CloudFront) or a web page opens v2 and v3 zarrs alike, and where no
metadata is there, the first answer that was not a 404 is what is said."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from inkloop.io import SegmentError, open_segment
from tests._http import NAME, serve
from tests.io._side_file_faults import SideFileFaults, write_served_folders

pytest.importorskip("aiohttp")


@pytest.fixture(scope="module")
def served(tmp_path_factory, synthetic):
    root = tmp_path_factory.mktemp("served")
    write_served_folders(root, synthetic)
    with serve(root, SideFileFaults) as (base, server):
        yield base, server


@pytest.mark.parametrize("answer", ["s3", "html"])
@pytest.mark.parametrize("folder", ["plain", "v2group"])  # zarr v3, v2
def test_a_server_refusing_or_paging_absent_metadata_opens_the_zarr(
    served, synthetic, answer, folder
):
    base, _server = served
    with warnings.catch_warnings(record=True) as warned:
        warnings.simplefilter("always")
        segment = open_segment(f"{base}/{answer}/{folder}/{NAME}.zarr")
        volume = segment.read([0, 7], slice(0, 64), slice(0, 96))

    expected = (synthetic.volume // 256).astype(np.uint8)[[0, 7]]
    np.testing.assert_array_equal(volume, expected)
    np.testing.assert_array_equal(np.asarray(segment.mask), synthetic.mask)
    assert not [w for w in warned if "zarr" in w.category.__name__.lower()]  # "both exist"


def test_a_v3_zarr_is_asked_its_format_in_one_round_and_its_metadata_once(served):
    """The three keys that tell a format are asked together (one round trip, not three: the
    community's server keeps zarr v2, found last); zarr's open then reads none of them again,
    and nothing of v2 below the root."""
    base, server = served
    server.requests.clear()

    open_segment(f"{base}/s3/plain/{NAME}.zarr")

    root = f"{NAME}.zarr/"
    asked = [path.split(root, 1)[1] for path in server.requests if root in path]
    metadata = [key for key in asked if "/c/" not in key]
    assert sorted(key for key in metadata if "/" not in key) == [".zarray", ".zgroup", "zarr.json"]
    below = {key.rsplit("/", 1)[-1] for key in metadata if "/" in key}
    assert not {".zarray", ".zgroup", ".zattrs", ".zmetadata"} & below


@pytest.mark.parametrize(
    ("answer", "said"),
    [
        ("s3", "the server refused it (403"),
        ("html", "the network answered with a web page, not the zarr's metadata"),
    ],
)
def test_no_zarr_where_the_server_refuses_or_pages_says_what_it_answered(served, answer, said):
    base, _server = served
    url = f"{base}/{answer}/plain/nothing.zarr"
    with pytest.raises(SegmentError) as raised:
        open_segment(url)
    assert str(raised.value).startswith(f"{url}: {said}")
