"""A server that answers a file it lacks with a web page ("soft 404": 200 and HTML): the page
is never kept as a side image, and one kept so before is not used."""

from __future__ import annotations

import warnings
from pathlib import Path

import pytest

from inkloop._notify import InkloopWarning
from inkloop.io import open_segment
from inkloop.io._remote import local_folder
from tests._http import NAME, MisbehavingHandler, serve, write_served_segment

pytest.importorskip("aiohttp")

PAGE = b"<!DOCTYPE html><html><body>Sorry, no such page</body></html>"


class _SoftHandler(MisbehavingHandler):
    """Under /soft/, a file the folder lacks is answered 200 with a web page."""

    def do_GET(self):  # noqa: N802  (http.server's name)
        if self.path.startswith("/soft/"):
            self.path = self.path.removeprefix("/soft")
            if not (Path(self.directory) / self.path.lstrip("/")).exists():
                self.send_response(200)
                self.send_header("Content-Type", "text/html")
                self.send_header("Content-Length", str(len(PAGE)))
                self.end_headers()
                self.wfile.write(PAGE)
                return
        super().do_GET()


@pytest.fixture(scope="module")
def served(tmp_path_factory, synthetic):
    root = tmp_path_factory.mktemp("served")
    write_served_segment(root, NAME, synthetic)  # a mask and ink labels; no supervision mask
    with serve(root, _SoftHandler) as (base, _server):
        yield base


def _opened(url: str):
    with warnings.catch_warnings(record=True) as warned:
        warnings.simplefilter("always")
        segment = open_segment(url)
    return segment, [str(w.message) for w in warned if w.category is InkloopWarning]


def test_a_web_page_for_a_missing_side_file_is_no_side_file(served):
    url = f"{served}/soft/{NAME}.zarr"
    segment, told = _opened(url)

    assert set(segment.files) == {"mask", "ink_labels"}  # the real ones
    names = sorted(path.name for path in local_folder(url).iterdir())
    assert names == [f"{NAME}_inklabels.png", f"{NAME}_mask.png"]
    wrong = f"{served}/soft/{NAME}_supervision_mask.png"
    assert [message for message in told if "not an image" in message] == [
        f"{wrong}: the server answered with a web page, not an image; taken as absent"
    ]


def test_a_web_page_kept_as_a_side_file_before_is_not_used(served):
    url = f"{served}/{NAME}.zarr"
    kept = local_folder(url) / f"{NAME}_supervision_mask.png"
    kept.parent.mkdir(parents=True)
    kept.write_bytes(PAGE)  # by an earlier version, from a server answering soft 404s

    segment, told = _opened(url)

    assert "supervision" not in segment.files
    assert not kept.exists()
    assert [message for message in told if "not an image" in message] == [
        f"{kept}: not an image (a web page a server answered with, for a file it lacks?); "
        "deleted, and asked of the server again"
    ]
