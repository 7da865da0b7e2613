"""Remote reads beside a server that trickles a chunk a byte at a time: a failing read is
told after the timeout, the trickling one cancelled, and another thread's slow read left
alone; a trickle alone ends at the deadline for a whole answer."""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np
import pytest

from inkloop.io import SegmentError, open_segment
from inkloop.io._remote import local_folder
from tests._http import NAME, MisbehavingHandler, serve, write_served_segment

pytest.importorskip("aiohttp")

TRICKLE_S = 0.02  # between the bytes a trickling answer sends: far under the read timeout
TRICKLE_MAX = 500  # bytes (or header lines) at most: an old client that waits still ends
FAILS, TRICKLES, SLOW = "/0/c/0/0/0", "/0/c/0/0/1", "/0/c/1/0/0"


class _TricklingHandler(MisbehavingHandler):
    """Chunk `TRICKLES` trickles a byte at a time, never all it promised, until the client
    hangs up (``hung_up``); `FAILS` answers 500 once that is under way; `SLOW` trickles
    header lines until that client hung up, then answers whole."""

    def do_GET(self):  # noqa: N802  (http.server's name)
        server = self.server
        if self.path.endswith(FAILS):
            server.trickling.wait(10)
            self.send_error(500)
        elif self.path.endswith(TRICKLES):
            server.trickling.set()
            self.send_response(200)
            self.send_header("Content-Length", str(10**6))
            self.end_headers()
            self._trickle(lambda: self.wfile.write(b"\0"))
        elif self.path.endswith(SLOW):
            server.slow.set()
            self.send_response(200)
            self._trickle(self._wait_header)
            body = (Path(self.directory) / self.path.lstrip("/")).read_bytes()
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        else:
            super().do_GET()

    def _trickle(self, send) -> None:
        for _ in range(TRICKLE_MAX):
            if self.server.hung_up.is_set() or self.server.release.is_set():
                return
            try:
                send()
            except OSError:
                self.server.hung_up.set()
                return
            self.server.release.wait(TRICKLE_S)

    def _wait_header(self) -> None:
        self.send_header("X-Wait", "1")
        self.flush_headers()


@pytest.fixture
def trickling(tmp_path, synthetic):
    """A served segment whose chunks answer as `_TricklingHandler` says."""
    root = tmp_path / "served"
    root.mkdir()
    volume = write_served_segment(root, NAME, synthetic)
    events = ("trickling", "hung_up", "slow")
    with serve(root, _TricklingHandler, events) as (base, server):
        yield f"{base}/{NAME}.zarr", server, volume


def test_a_read_failing_beside_one_that_trickles_on_is_told_after_the_timeout(trickling, tmp_path):
    url, server, _volume = trickling
    segment = open_segment(url, cache=tmp_path / "cache", timeout=1.0)
    with pytest.raises(SegmentError) as raised:
        segment.read([0], slice(0, 32), slice(0, 96))  # chunks FAILS, TRICKLES and a good one
    assert str(raised.value) == (
        f"{url}/0: the server answered 500 Internal Server Error; the reads of 0/c/0/0/1 "
        "were still running after 1 s and were cancelled"
    )
    assert server.hung_up.wait(10)  # its connection closed, not left to trickle on
    chunks = local_folder(url, tmp_path / "cache") / "chunks" / "0"
    assert [p.name for p in chunks.glob("@*/c/0/0/*")] == ["2"]  # the good chunk stays cached


def test_a_failed_read_leaves_another_threads_slow_read_alone(trickling):
    url, server, volume = trickling
    segment = open_segment(url, timeout=1.0)
    other: list = []

    def read_other() -> None:
        try:
            other.append(segment.read([1], slice(0, 32), slice(0, 32)))  # chunk SLOW
        except BaseException as error:  # a cancelled read raises CancelledError, no Exception
            other.append(error)

    reader = threading.Thread(target=read_other)
    reader.start()
    assert server.slow.wait(10)
    with pytest.raises(SegmentError, match="were cancelled"):
        segment.read([0], slice(0, 32), slice(0, 64))  # chunks FAILS and TRICKLES
    reader.join()
    np.testing.assert_array_equal(other[0], volume[1:2, :32, :32])


def test_a_chunk_that_trickles_on_ends_after_its_whole_answers_deadline(trickling, monkeypatch):
    """A byte comes well within the read timeout, every time: only the deadline for the
    whole answer (`WHOLE_ANSWER_TIMEOUTS` read timeouts) ends it."""
    monkeypatch.setattr("inkloop.io._remote_logins.WHOLE_ANSWER_TIMEOUTS", 1)
    url, server, _volume = trickling
    segment = open_segment(url, timeout=1.0, cache=False)

    with pytest.raises(SegmentError) as raised:
        segment.read([0], slice(0, 32), slice(32, 64))  # chunk TRICKLES alone

    assert str(raised.value) == (
        f"{url}/0: the server is too slow: it sends, but its answer did not arrive whole in time"
    )
    assert server.hung_up.wait(10)  # the client hung up: the trickle did not run out
