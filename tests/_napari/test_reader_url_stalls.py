"""A segment URL on screen over a link that stalls: napari's view waits `DISPLAY_TIMEOUT_S`
at most for a read (not the 30 s of training's), tries it once, shows the tile blank and says
so once an outage; its reads of the next `VIEW_HOLD_S` fail at once, the next read after
asks the server again. A read the server failed for a moment (a 503, a reset) is tried again
once."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from napari.layers import Image

from inkloop._napari._reader import segment_layers
from inkloop.io import open_segment
from tests._http import NAME, MisbehavingHandler, serve, write_served_segment

VIEW_TIMEOUT_S = 0.5  # the view's, made short: the reads stall until the test lets them go
OPEN_TIMEOUT_S = 3.0  # the segment's own: a read that waited this long failed the view
STALLED = "stopped answering for"


class StallingHandler(MisbehavingHandler):
    """Answers chunk requests only once ``answering`` is set, while ``stalling`` is; with
    ``partway`` set, after the first half of the chunk."""

    def do_GET(self):  # noqa: N802  (http.server's name)
        if self.server.stalling.is_set() and "/c/" in self.path:
            self.server.stalled.append(self.path)
            if getattr(self.server, "partway", False):
                self._send_then_stall(self.path)
                return
            self.server.answering.wait()  # an SSH tunnel whose far side is gone
        super().do_GET()

    def _send_then_stall(self, path: str) -> None:
        body = (Path(self.directory) / path.lstrip("/")).read_bytes()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body[: len(body) // 2])
        self.wfile.flush()
        self.server.answering.wait()
        self.wfile.write(body[len(body) // 2 :])


def _said(shown: int) -> list[str]:
    from napari.utils.notifications import notification_manager

    return [r.message for r in notification_manager.records[shown:] if STALLED in r.message]


@pytest.fixture
def short_view(tmp_path, monkeypatch):
    """The view's reads limited to `VIEW_TIMEOUT_S`; inkloop's data folder in ``tmp_path``."""
    monkeypatch.setenv("INKLOOP_DATA", str(tmp_path / "data"))
    monkeypatch.setattr("inkloop.io._remote.DISPLAY_TIMEOUT_S", VIEW_TIMEOUT_S)


def _shown(base: str, cache=False):
    """The level napari displays of the segment served at ``base``, opened by its URL."""
    segment = open_segment(f"{base}/{NAME}.zarr", timeout=OPEN_TIMEOUT_S, cache=cache)
    (shown, _, _), *_ = segment_layers(segment)[1]
    return shown


def test_a_stalled_link_leaves_the_view_blank_said_once_and_the_next_read_asks_again(
    tmp_path, synthetic, monkeypatch, short_view
):
    from napari.utils.notifications import notification_manager

    monkeypatch.setattr("inkloop.io._remote_store.VIEW_HOLD_S", 0.0)
    volume = write_served_segment(tmp_path, NAME, synthetic)
    with serve(tmp_path, StallingHandler, events=("stalling", "answering")) as (base, server):
        server.stalled = []
        shown = _shown(base)
        Image([shown], multiscale=True)  # napari takes it as a level of a pyramid, too
        said = len(notification_manager.records)
        server.stalling.set()
        try:
            first = np.asarray(shown[:, :32, :32][0])  # as napari slices: its layer last
            second = np.asarray(shown[1, :32, :32])
            stalled = list(server.stalled)
        finally:
            server.answering.set()
        again = np.asarray(shown[2, :32, :32])
        server.answering.clear()  # a second outage
        try:
            np.asarray(shown[3, :32, :32])
        finally:
            server.answering.set()

    assert (len(stalled), first.any(), second.any()) == (2, False, False)  # one chunk, once: blank
    np.testing.assert_array_equal(again, volume[2, :32, :32])
    host = base.removeprefix("http://")
    notice = (
        f"Ink Loop: {host} stopped answering for {VIEW_TIMEOUT_S:g} s (or sent a chunk too "
        "slowly); the view is left blank there; move the view to try again"
    )
    assert _said(said) == [notice, notice]  # one for each outage, none for its second read


class FailingOnceHandler(MisbehavingHandler):
    """Fails the first request of each chunk, as a link drops one (``how``: "503", or "cut"
    off mid-answer; None: none fails), then answers it."""

    def do_GET(self):  # noqa: N802  (http.server's name)
        if self.server.how and "/c/" in self.path and self.path not in self.server.failed:
            self.server.failed.add(self.path)
            if self.server.how == "503":
                self.send_error(503)
                return
            self.path = f"/truncate{self.path}"  # its first half, then the connection closed
        super().do_GET()


@pytest.mark.parametrize("how", ["503", "cut"])
def test_a_view_read_the_server_failed_once_is_tried_again_and_shown(
    tmp_path, synthetic, monkeypatch, how
):
    from napari.utils.notifications import notification_manager

    monkeypatch.setenv("INKLOOP_DATA", str(tmp_path / "data"))
    volume = write_served_segment(tmp_path, NAME, synthetic)
    with serve(tmp_path, FailingOnceHandler) as (base, server):
        server.failed, server.how = set(), None
        shown = _shown(base)
        said = len(notification_manager.records)
        server.how = how
        tile = np.asarray(shown[4, :64, :64])  # 4 chunks, each failed once
        failed = len(server.failed)

    np.testing.assert_array_equal(tile, volume[4, :64, :64])
    host = base.removeprefix("http://")
    notices = [r.message for r in notification_manager.records[said:] if host in r.message]
    assert (failed, notices) == (4, [])


def test_a_read_from_the_chunk_cache_does_not_end_an_outage(
    tmp_path, synthetic, monkeypatch, short_view
):
    from napari.utils.notifications import notification_manager

    monkeypatch.setattr("inkloop.io._remote_store.VIEW_HOLD_S", 0.0)
    volume = write_served_segment(tmp_path, NAME, synthetic)
    with serve(tmp_path, StallingHandler, events=("stalling", "answering")) as (base, server):
        server.stalled = []
        shown = _shown(base, cache=tmp_path / "chunks")
        np.asarray(shown[0, 32:64, 32:64])  # now in the chunk cache
        said = len(notification_manager.records)
        server.stalling.set()
        try:
            first = np.asarray(shown[1, 32:64, 32:64])
            kept = np.asarray(shown[0, 32:64, 32:64])  # as napari's thumbnail, from the cache
            again = np.asarray(shown[2, 32:64, 32:64])  # the same outage
            stalled = len(server.stalled)
        finally:
            server.answering.set()

    assert (stalled, first.any(), again.any()) == (2, False, False)
    np.testing.assert_array_equal(kept, volume[0, 32:64, 32:64])
    assert len(_said(said)) == 1


def test_once_a_view_read_stalled_the_next_ones_fail_at_once_for_a_while(
    tmp_path, synthetic, monkeypatch, short_view
):
    from napari.utils.notifications import notification_manager

    monkeypatch.setattr("inkloop.io._remote_store.VIEW_HOLD_S", 600.0)
    volume = write_served_segment(tmp_path, NAME, synthetic)
    with serve(tmp_path, StallingHandler, events=("stalling", "answering")) as (base, server):
        server.stalled = []
        shown = _shown(base)
        said = len(notification_manager.records)
        server.stalling.set()
        try:
            view = np.asarray(shown[0, :32, :32])  # waits VIEW_TIMEOUT_S
            thumbnail = np.asarray(shown[1, :32, :32])  # the same step's: fails at once
            stalled = len(server.stalled)
        finally:
            server.answering.set()
        monkeypatch.setattr("inkloop.io._remote_store.VIEW_HOLD_S", 0.0)  # the while is over
        again = np.asarray(shown[2, :32, :32])

    assert (stalled, view.any(), thumbnail.any()) == (1, False, False)
    np.testing.assert_array_equal(again, volume[2, :32, :32])
    assert len(_said(said)) == 1


def test_a_chunk_cut_short_by_a_stall_is_said_as_the_server_stopping(
    tmp_path, synthetic, short_view
):
    from napari.utils.notifications import notification_manager

    write_served_segment(tmp_path, NAME, synthetic)
    with serve(tmp_path, StallingHandler, events=("stalling", "answering")) as (base, server):
        server.stalled, server.partway = [], True
        shown = _shown(base)
        said = len(notification_manager.records)
        server.stalling.set()
        try:
            tile = np.asarray(shown[0, :32, :32])
        finally:
            server.answering.set()

    host = base.removeprefix("http://")
    assert not tile.any()
    assert _said(said) == [
        f"Ink Loop: {host} stopped answering for {VIEW_TIMEOUT_S:g} s (or sent a chunk too "
        "slowly); the view is left blank there; move the view to try again"
    ]
