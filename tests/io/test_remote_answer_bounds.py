"""Every answer of a server is bounded in bytes as it arrives, decoded bytes counted where the
server compresses it: a zarr's metadata, a chunk (by what its metadata says it holds) and a
side image (by its segment's pixels). Past its bound the answer is refused in one message
naming what was too big and where, not read on for minutes into memory or onto the disk
where the segment's labels are saved."""

from __future__ import annotations

import zlib
from pathlib import Path

import numpy as np
import pytest

from inkloop._notify import InkloopWarning
from inkloop.io import SegmentError, open_segment
from inkloop.io._remote import local_folder
from tests._http import NAME, MisbehavingHandler, serve, write_served_segment

pytest.importorskip("aiohttp")

METADATA_SENT = 80 << 20  # past the 64 MB any metadata is held to
OTHER_SENT = 16 << 20  # past a chunk's or side image's bound here (~1-2 MB)
SPACES = 70 << 20  # what the gzip-encoded zarr.json is padded with, decoded


class _Handler(MisbehavingHandler):
    """`MisbehavingHandler`, plus: under /endless/ zarr.json, under /endlesschunk/ the first
    chunk, under /endlessmask/ the mask, each an answer with no length that goes on (for
    `METADATA_SENT` or `OTHER_SENT` bytes: a client without a bound ends too); under /gzip/
    zarr.json gzip-encoded, 70 kB sent that inflate to 70 MB; under /declared/ the first
    chunk's headers with a Content-Length of 10 GB, then nothing until the test ends."""

    def do_GET(self):  # noqa: N802  (http.server's name)
        mode, _, rest = self.path[1:].partition("/")
        if mode == "endless" and rest.endswith("/zarr.json"):
            return self._endless(b'{"zarr_format": 3, "pad": "', METADATA_SENT)
        if mode == "endlesschunk" and rest.endswith("/0/c/0/0/0"):
            return self._endless(b"", OTHER_SENT)
        if mode == "endlessmask" and rest.rsplit("/", 1)[-1] == f"{NAME}_mask.png":
            return self._endless(b"\x89PNG\r\n\x1a\n", OTHER_SENT)
        if mode == "gzip" and rest.endswith("/zarr.json"):
            return self._gzipped(Path(self.directory, rest))
        if mode == "declared" and rest.endswith("/0/c/0/0/0"):
            return self._declared()
        if mode in ("endless", "endlesschunk", "endlessmask", "gzip", "declared"):
            self.path = f"/{rest}"
        return super().do_GET()

    def _endless(self, head: bytes, total: int) -> None:
        self.send_response(200)
        self.end_headers()  # no Content-Length: the answer ends when the connection does
        block = b"A" * (1 << 20)
        try:
            self.wfile.write(head)
            for _ in range(total >> 20):
                self.wfile.write(block)
        except (BrokenPipeError, ConnectionResetError):  # the client gave up: as it should
            pass
        self.close_connection = True

    def _gzipped(self, file: Path) -> None:
        packer = zlib.compressobj(9, zlib.DEFLATED, 31)  # 31: a gzip header
        body = packer.compress(file.read_bytes()) + packer.compress(b" " * SPACES)
        body += packer.flush()
        self.send_response(200)
        self.send_header("Content-Encoding", "gzip")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _declared(self) -> None:
        self.send_response(200)
        self.send_header("Content-Length", str(10 << 30))
        self.end_headers()
        self.server.release.wait()  # set as the server stops
        self.close_connection = True


@pytest.fixture(scope="module")
def served(tmp_path_factory, synthetic):
    root = tmp_path_factory.mktemp("served")
    write_served_segment(root, NAME, synthetic)
    with serve(root, _Handler) as (base, _server):
        yield base


def test_endless_metadata_is_refused_at_its_bound_naming_the_url_without_its_login(served):
    url = f"{served}/endless/{NAME}.zarr"

    with pytest.raises(SegmentError) as raised:
        open_segment(url.replace("://", "://reader:Pw-b0und5@"), cache=False, timeout=5)

    assert str(raised.value) == (
        f"{url}: zarr.json is over 64 MB, more than any zarr metadata holds: refused"
    )


def test_metadata_a_gzip_encoding_inflates_past_its_bound_is_refused(served):
    """70 kB on the wire: the decoded bytes are counted."""
    url = f"{served}/gzip/{NAME}.zarr"

    with pytest.raises(SegmentError, match=r"zarr\.json is over 64 MB") as raised:
        open_segment(url, cache=False, timeout=5)

    assert str(raised.value).startswith(f"{url}: ")


def test_an_endless_chunk_is_refused_at_what_its_metadata_says_it_holds(served):
    segment = open_segment(f"{served}/endlesschunk/{NAME}.zarr", cache=False, timeout=5)

    with pytest.raises(SegmentError) as raised:
        np.asarray(segment.volume[0, :32, :32])

    assert str(raised.value) == (
        f"{served}/endlesschunk/{NAME}.zarr/0: chunk 0/c/0/0/0 is over 1 MB, more than twice "
        "what a chunk of 1 × 32 × 32 uint8 holds decoded: refused"
    )


def test_a_chunk_declaring_more_than_its_bound_is_refused_before_a_byte_of_it_is_read(served):
    """Not after the read timeout, as a server that says 10 GB and sends nothing."""
    segment = open_segment(f"{served}/declared/{NAME}.zarr", cache=False, timeout=5)

    with pytest.raises(SegmentError, match=r"chunk 0/c/0/0/0 is over 1 MB, more than twice"):
        np.asarray(segment.volume[0, :32, :32])


def test_an_endless_side_image_stops_at_its_segments_pixels_and_says_how_to_leave_it_out(served):
    """The refusal names the marker that opens the segment without the image; no part is
    left on disk, and the URL's login is in neither."""
    url = f"{served}/endlessmask/{NAME}.zarr"
    marker = local_folder(url) / f"{NAME}_mask.png.left-out"

    with pytest.raises(SegmentError) as raised:
        open_segment(url.replace("://", "://reader:Pw-b0und5@"), cache=False, timeout=5)

    assert str(raised.value) == (
        f"{served}/endlessmask/{NAME}_mask.png: the image is over 1 MB, more than an image of "
        "this segment's 64 × 96 pixels (padded) holds, 8 bytes a pixel, uncompressed: refused; "
        f"to open the segment without it, create {marker}"
    )
    assert not [path.name for path in local_folder(url).iterdir() if "_mask" in path.name]
    marker.touch()
    with pytest.warns(InkloopWarning, match=f"^{marker}: {NAME}_mask.png is left out, not"):
        assert open_segment(url, cache=False, timeout=5).mask is None
