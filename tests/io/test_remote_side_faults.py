"""A URL segment's side files from a server that fails: a file cut short with no length sent
is never kept (nor one kept so before used), a failure of a moment is tried again, the
supervision mask failing for good or a 403 for a file the server lacks opens without it, and
a wrong-sized side image says how to leave it out (moved out, it is fetched again)."""

from __future__ import annotations

import os
import warnings

import numpy as np
import pytest

from inkloop._notify import InkloopWarning
from inkloop.io import SegmentError, open_segment, write_label_files
from inkloop.io._remote import local_folder
from tests._http import NAME, serve
from tests.io._side_file_faults import SideFileFaults, box, write_served_folders

pytest.importorskip("aiohttp")

MASK = f"{NAME}_mask.png"


@pytest.fixture(scope="module")
def served(tmp_path_factory, synthetic):
    root = tmp_path_factory.mktemp("served")
    write_served_folders(root, synthetic)
    with serve(root, SideFileFaults) as (base, server):
        yield base, server, root


def _opened(url: str):
    with warnings.catch_warnings(record=True) as warned:
        warnings.simplefilter("always")
        segment = open_segment(url)
    return segment, [str(w.message) for w in warned if w.category is InkloopWarning]


def _asked(server, name: str) -> int:
    return sum(path.endswith(f"/{name}") for path in server.requests)


def test_a_side_file_cut_short_with_no_length_sent_is_tried_again_and_never_kept(served):
    base, server, _root = served
    url = f"{base}/nolength/plain/{NAME}.zarr"
    server.requests.clear()

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", InkloopWarning)
        with pytest.raises(SegmentError) as raised:
            open_segment(url)

    assert str(raised.value).startswith(
        f"{base}/nolength/plain/{MASK}: the server sent a truncated response (the image ends "
        "early, after"
    )
    assert _asked(server, MASK) == 4  # tried again 3 times, as a chunk is
    assert not (local_folder(url) / MASK).exists()


def test_a_server_copy_kept_cut_short_is_fetched_again(served, synthetic):
    base, _server, root = served
    url = f"{base}/plain/{NAME}.zarr"
    kept = local_folder(url) / MASK
    kept.parent.mkdir(parents=True)
    whole = (root / "plain" / MASK).read_bytes()
    kept.write_bytes(whole[: len(whole) // 2])  # by an earlier version

    segment, told = _opened(url)

    np.testing.assert_array_equal(np.asarray(segment.mask), synthetic.mask)
    assert kept.read_bytes() == whole
    assert f"{kept}: cut short (a download the server ended early, kept by an earlier " in told[0]


def test_labels_painted_here_are_never_replaced_even_cut_short(served, synthetic):
    base, _server, _root = served
    url = f"{base}/plain/{NAME}.zarr"
    painted = local_folder(url) / f"{NAME}_inklabels.png"
    painted.parent.mkdir(parents=True)
    write_label_files(painted, box(0, 9, synthetic.mask.shape), synthetic.mask)
    for path in (painted, local_folder(url) / f"{NAME}_supervision_mask.png"):
        path.write_bytes(path.read_bytes()[:-20])  # damaged on this disk, not the server's
    damaged = painted.read_bytes()

    segment, _told = _opened(url)

    assert segment.files["ink_labels"] == painted
    assert painted.read_bytes() == damaged
    assert (local_folder(url) / f"{NAME}_supervision_mask.png").exists()


def test_a_side_file_the_server_fails_for_a_moment_is_fetched_again(served, synthetic):
    base, server, _root = served
    url = f"{base}/flaky/plain/{NAME}.zarr"
    server.requests.clear()

    segment, told = _opened(url)

    np.testing.assert_array_equal(np.asarray(segment.mask), synthetic.mask)
    assert _asked(server, MASK) == 2
    assert f"{base}/flaky/plain/{MASK}: the server answered 500 Internal Server Error; tried " in (
        "\n".join(told)
    )


def test_a_supervision_mask_the_server_fails_opens_without_it_said_once(served):
    base, _server, _root = served
    url = f"{base}/supfails/versions/{NAME}.zarr"

    segment, told = _opened(url)

    assert set(segment.files) == {"mask", "ink_labels"}
    failed = f"{base}/supfails/versions/{NAME}_supervision_mask_v2.png"
    assert [message for message in told if message.startswith(failed)] == [
        f"{failed}: the server answered 500 Internal Server Error; tried again, 3 times at most",
        f"{failed}: the server answered 500 Internal Server Error; opened without it (asked "
        "for at the next open)",
    ]


def test_a_403_for_a_side_file_the_server_lacks_is_no_side_file(served):
    """S3 and CloudFront without list rights answer 403 for a key they lack."""
    base, _server, _root = served

    segment, told = _opened(f"{base}/s3/plain/{NAME}.zarr")

    assert set(segment.files) == {"mask", "ink_labels"}
    refused = f"{base}/s3/plain/{NAME}_supervision_mask.png: the server refused it (403"
    said = [message for message in told if message.startswith(refused)]
    assert len(said) == 1
    assert said[0].endswith("; taken as absent (S3 and CloudFront answer so for a file they lack)")


def test_a_wrong_sized_side_image_from_a_server_says_how_to_leave_it_out(served):
    base, server, _root = served
    url = f"{base}/badmask/{NAME}.zarr"
    kept = local_folder(url) / MASK
    segment = open_segment(url)

    with pytest.raises(SegmentError) as raised:
        np.asarray(segment.mask)
    with pytest.raises(SegmentError) as checked:
        segment.check_side_image(kept)

    assert (
        str(raised.value)
        == str(checked.value)
        == (
            f"{kept}: image is 10x10 but the layers are 64x96: rename it {MASK}.left-out to open "
            f"the segment without it (moved out, it would be fetched again from "
            f"{base}/badmask/{MASK}) or resize it to 64x96"
        )
    )
    os.rename(kept, f"{kept}.left-out")
    server.requests.clear()
    again, told = _opened(url)
    assert again.mask is None
    assert _asked(server, MASK) == 0
    assert told == [f"{kept}.left-out: {MASK} is left out, not fetched"]
