"""A server that fails a read for a moment, from a real server on 127.0.0.1: a 5xx, a reset or
a dropped answer is tried again (and said once), a 4xx or a stall is not; and a failed read's
other reads end soon after, none left behind to start later."""

from __future__ import annotations

import asyncio
import socket
import struct
import warnings
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from inkloop._notify import InkloopWarning
from inkloop.io import SegmentError
from inkloop.io._remote import GuardedArray, open_zarr_url
from tests._http import NAME, MisbehavingHandler, serve, write_served_segment

pytest.importorskip("aiohttp")

FIRST, SECOND = "0/c/0/0/0", "0/c/0/0/1"  # the first two chunks of layer 0 (32 x 32 each)
TRICKLE_S = 0.05  # between the pieces of a trickled answer
PIECES = 30  # a trickled answer ends after PIECES * TRICKLE_S (1.5 s): far beyond the grace


class _Failing(MisbehavingHandler):
    """Chunk `FIRST` fails as ``server.fault`` says, its first ``server.times`` requests:
    "500", "reset" (the connection reset unanswered), "drop" (half the body it promised),
    "403", "stall" (no answer until the test ends). With ``server.others`` "stall" every
    other chunk stalls; with "trickle" `SECOND` comes whole, a piece at a time."""

    def do_GET(self):  # noqa: N802  (http.server's name)
        server, key = self.server, self.path.partition(".zarr/")[2]
        asked = server.asked[key] = server.asked[key] + 1
        if key == FIRST and server.fault and asked <= server.times:
            return self._fail(server.fault)
        if "/c/" in key and key != FIRST and server.others == "stall":
            server.release.wait(30)
            return None
        if key == SECOND and server.others == "trickle":
            return self._trickle()
        return super().do_GET()

    def _fail(self, fault: str) -> None:
        if fault in ("500", "403"):
            self.send_error(int(fault))
        elif fault == "reset":  # SO_LINGER 0: close() resets the connection
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.close_connection = True
        elif fault == "drop":
            self._send_half(self.path)
        else:
            self.server.release.wait(30)

    def _trickle(self) -> None:
        body = (Path(self.directory) / self.path.lstrip("/")).read_bytes()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        pieces = np.array_split(np.frombuffer(body, np.uint8), PIECES)
        try:
            for piece in pieces:
                self.server.release.wait(TRICKLE_S)
                self.wfile.write(piece.tobytes())
                self.wfile.flush()
        except OSError:  # the client hung up
            self.server.hung_up.set()


@pytest.fixture(autouse=True)
def short_waits(monkeypatch):
    """Reads tried again at once; a failed read's other reads cancelled after 0.1 s."""
    monkeypatch.setattr("inkloop.io._remote_store.RETRY_PAUSES_S", (0.0, 0.0, 0.0), raising=False)
    monkeypatch.setattr("inkloop.io._remote_store.SETTLE_GRACE_S", 0.1, raising=False)


@pytest.fixture(scope="module")
def served(tmp_path_factory, synthetic):
    """A served segment whose chunks fail as `_Failing` says; (URL, server, volume)."""
    root = tmp_path_factory.mktemp("served")
    volume = write_served_segment(root, NAME, synthetic)
    with serve(root, _Failing, events=("hung_up",)) as (base, server):
        yield f"{base}/{NAME}.zarr", server, volume


@pytest.fixture
def failing(served):
    """`served`, healthy until the test says otherwise."""
    _url, server, _volume = served
    server.asked, server.fault, server.times, server.others = Counter(), None, 0, None
    server.hung_up.clear()
    return served


def _level(url: str, timeout: float = 5.0) -> GuardedArray:
    return GuardedArray(open_zarr_url(url, timeout=timeout)["0"], url)


@pytest.mark.parametrize("fault", ["500", "reset", "drop"])
def test_a_read_the_server_fails_for_a_moment_is_tried_again(failing, fault):
    url, server, volume = failing
    level = _level(url)
    server.fault, server.times = fault, 2

    with warnings.catch_warnings(record=True) as warned:
        warnings.simplefilter("always")
        np.testing.assert_array_equal(level[0:2, :32, :32], volume[0:2, :32, :32])

    assert server.asked[FIRST] == 3
    told = [str(w.message) for w in warned if w.category is InkloopWarning]
    assert len(told) == 1  # said once, not per try
    assert told[0].startswith(f"{url}: ")
    assert told[0].endswith("; reads that fail so are tried again, 3 times at most")


@pytest.mark.parametrize(("fault", "asked"), [("500", 4), ("403", 1), ("stall", 1)])
def test_a_read_failing_for_good_is_tried_three_times_more_and_a_4xx_or_stall_not_again(
    failing, fault, asked
):
    url, server, _volume = failing
    level = _level(url, timeout=0.3)
    server.fault, server.times = fault, 99

    with pytest.raises(SegmentError):
        level[0, :32, :32]

    assert server.asked[FIRST] == asked


def test_the_other_reads_of_a_failed_read_are_cancelled_after_a_short_grace(failing):
    """Not after a second read timeout: zarr's reads beside the failed one had that long."""
    url, server, _volume = failing
    level = _level(url, timeout=10.0)
    server.fault, server.times, server.others = "403", 99, "trickle"

    with pytest.raises(SegmentError) as raised:
        level[0, :32, :64]  # FIRST fails at once, SECOND would be whole after 1.5 s

    assert f"the reads of {SECOND} were still running" in str(raised.value)
    assert "were cancelled" in str(raised.value)
    assert server.hung_up.wait(10)


def test_no_read_of_a_failed_read_starts_after_it(failing):
    """zarr reads 10 chunks at a time: those waiting their turn when one failed start none
    (a request after the error, and a task pending at exit: 'Task was destroyed but it is
    pending!')."""
    url, server, _volume = failing
    level = _level(url, timeout=5.0)
    server.fault, server.times, server.others = "403", 99, "stall"

    with pytest.raises(SegmentError):
        level[0:4]  # 4 layers of 2 x 3 chunks: 24, FIRST failing, the others stalled

    asked = sum(n for key, n in server.asked.items() if "/c/" in key)
    assert asked <= 11  # the 10 zarr started and the one FIRST's failure let in, at most
    assert _pending_reads(level.array.store._loop) == []


def _pending_reads(loop) -> list:
    """zarr's read tasks (concurrent_map's) not done on ``loop``."""

    async def pending():
        return [
            task for task in asyncio.all_tasks() if "concurrent_map" in task.get_coro().__qualname__
        ]

    return asyncio.run_coroutine_threadsafe(pending(), loop).result()
