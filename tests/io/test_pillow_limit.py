"""Pillow's decompression-bomb limit is process-wide: inkloop raises it only while it opens
its own images (gigapixel masks are real), and leaves everyone else's as it was, a user's
None (no limit) included, however many threads open images at once."""

from __future__ import annotations

import struct
import threading
import zlib

import pytest
from PIL import Image

from inkloop.io._images import image_info

PILLOWS_DEFAULT = 1024**3 // 4 // 3  # Pillow's MAX_IMAGE_PIXELS as it comes: ~89 Mpx
SIDE = 20_000  # 400 Mpx: over twice that limit, which Pillow refuses outright


def _header_only_png(path, width: int, height: int):
    """A PNG that claims ``width`` x ``height`` grey pixels and holds none: a bomb's header."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        crc = struct.pack(">I", zlib.crc32(kind + data))
        return struct.pack(">I", len(data)) + kind + data + crc

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IEND", b""))
    return path


@pytest.fixture
def big_png(tmp_path):
    return _header_only_png(tmp_path / "big_mask.png", SIDE, SIDE)


@pytest.mark.parametrize("users_limit", [PILLOWS_DEFAULT, None, 2**40])
def test_inkloop_opens_a_gigapixel_image_and_leaves_the_limit_as_it_was(
    big_png, monkeypatch, users_limit
):
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", users_limit)

    assert image_info(big_png).shape == (SIDE, SIDE)

    assert users_limit == Image.MAX_IMAGE_PIXELS


def test_pillow_still_refuses_a_bomb_outside_inkloop_after_it_opened_one(big_png, monkeypatch):
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", PILLOWS_DEFAULT)
    image_info(big_png)

    with pytest.raises(Image.DecompressionBombError):
        Image.open(big_png)


def test_opens_on_many_threads_at_once_all_pass_and_leave_the_limit(big_png, monkeypatch):
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", PILLOWS_DEFAULT)
    threads, opens = 8, 25
    start = threading.Barrier(threads)
    failures = []

    def open_many():
        start.wait()
        for _ in range(opens):
            try:
                image_info(big_png)
            except Exception as error:  # any failure at all is the finding
                failures.append(error)

    workers = [threading.Thread(target=open_many) for _ in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()

    assert failures == []
    assert Image.MAX_IMAGE_PIXELS == PILLOWS_DEFAULT
