"""Decoded copies of PNG/JPEG layers shared by processes and bounded by the disk: two
processes decoding one layer at once keep one copy and each reads the one it holds; copies no
process reads make room before a new copy is refused."""

from __future__ import annotations

import contextlib
import gc
import multiprocessing
import os
import shutil
import warnings
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from inkloop._notify import InkloopWarning
from inkloop.io import _cache, open_segment

SHAPE = (5, 40, 56)  # Z, H, W
TIMEOUT = 60  # only a failing run waits this long


@pytest.fixture(autouse=True)
def decoded_home(tmp_path, monkeypatch) -> Path:
    """Where the decoded copies go (never the user's cache; spawned processes inherit it)."""
    monkeypatch.setenv(_cache.DECODED_FOLDER_ENV, str(tmp_path / "decoded"))
    return tmp_path / "decoded"


def _png_segment(folder: Path, seed: int = 1) -> np.ndarray:
    """A segment of SHAPE with PNG layers; their values."""
    values = np.random.default_rng(seed).integers(0, 256, SHAPE, dtype=np.uint8)
    (folder / "layers").mkdir(parents=True)
    for z, layer in enumerate(values):
        Image.fromarray(layer).save(folder / "layers" / f"{z:02d}.png")
    return values


def _read_racing(role, folder, both_decoded, first_placed, room_made, out) -> None:
    """In a spawned process: read layer 0 of ``folder``, both processes decoding it before
    either writes its copy, "first" writing first. "second" then ends; "first" reads again
    once another process has made room."""
    decode = _cache.read_image

    def decode_together(path):
        pixels = decode(path)
        both_decoded.wait(TIMEOUT)
        if role == "second":
            first_placed.wait(TIMEOUT)
        return pixels

    _cache.read_image = decode_together
    segment = open_segment(folder)
    out.put((role, segment.read([0], slice(None), slice(None))))
    if role == "first":
        first_placed.set()
        room_made.wait(TIMEOUT)
        try:
            out.put((role, segment.direct[0, ::2, :]))  # a strided read opens the file again
        except OSError as error:
            out.put((role, repr(error)))


def test_processes_decoding_a_layer_at_once_keep_one_copy(tmp_path, decoded_home, monkeypatch):
    folder = tmp_path / "20240101000000"
    values = _png_segment(folder)
    spawn = multiprocessing.get_context("spawn")
    both_decoded, first_placed, room_made = spawn.Barrier(2), spawn.Event(), spawn.Event()
    out = spawn.Queue()
    processes = {
        role: spawn.Process(
            target=_read_racing, args=(role, folder, both_decoded, first_placed, room_made, out)
        )
        for role in ("first", "second")
    }
    for process in processes.values():
        process.start()
    try:
        read = [out.get(timeout=TIMEOUT) for _ in processes]
        processes["second"].join(TIMEOUT)
        assert len(_copies(decoded_home)) == 1
        assert os.listdir(decoded_home) == _copies(decoded_home)  # no part left either
        monkeypatch.setattr(_cache, "DECODED_FILES_BYTES", 0)  # a folder over its bound
        _cache._make_room(decoded_home, 0)
        room_made.set()
        read.append(out.get(timeout=TIMEOUT))
    finally:
        room_made.set()
        for process in processes.values():
            process.join(TIMEOUT)
    assert sorted(role for role, _ in read) == ["first", "first", "second"]
    for role, pixels in read[:2]:
        np.testing.assert_array_equal(pixels, values[:1], err_msg=role)
    assert isinstance(read[2][1], np.ndarray), read[2][1]  # its copy was not deleted under it
    np.testing.assert_array_equal(read[2][1], values[0, ::2])
    assert len(_copies(decoded_home)) == 1  # held by "first" while room was made


def _copies(folder: Path) -> list[str]:
    return sorted(path.name for path in folder.glob("*.raw"))


def test_copies_no_process_reads_make_room_on_a_full_disk(tmp_path, decoded_home, monkeypatch):
    room = SHAPE[0] * SHAPE[1] * SHAPE[2]  # the disk has room for one segment's copies

    def disk_usage(path):
        # each file once (a copy is linked from its part before the part goes), and none that
        # another thread's decode removed meanwhile: a disk's own count
        sizes = {}
        for entry in os.scandir(path):
            with contextlib.suppress(FileNotFoundError):
                sizes[entry.inode()] = entry.stat().st_size
        used = sum(sizes.values())
        return shutil._ntuple_diskusage(room, used, room - used)

    monkeypatch.setattr(_cache.shutil, "disk_usage", disk_usage)
    monkeypatch.setattr(_cache, "FREE_SPACE_KEPT", 0)
    _png_segment(tmp_path / "a")
    second_values = _png_segment(tmp_path / "b", seed=2)
    first, second = open_segment(tmp_path / "a"), open_segment(tmp_path / "b")
    first.volume.compute()

    with pytest.warns(InkloopWarning, match="cannot keep decoded layers") as said:
        second.read([0], slice(0, 8), slice(0, 8))  # every copy is read by the first segment
    assert "after deleting 0 MB of decoded layers no process reads" in str(said[0].message)
    assert "left there are in use" in str(said[0].message)

    copies = _copies(decoded_home)
    for age, name in enumerate(copies):  # least recently used: the last
        os.utime(decoded_home / name, (10_000 - age, 10_000 - age))
    del first
    gc.collect()  # the first segment closed: its copies are read no more
    with warnings.catch_warnings():
        warnings.simplefilter("error", InkloopWarning)
        patch = second.read([1, 2], slice(None), slice(None))

    np.testing.assert_array_equal(patch, second_values[1:3])
    assert isinstance(second.direct._readers[1], _cache.DecodedLayer)
    left = set(_copies(decoded_home))
    assert len(left) == SHAPE[0]
    assert set(copies) - left == set(copies[-2:])


def test_a_reader_holds_its_copy_and_no_part_is_left(tmp_path, decoded_home):
    """Under locks the part's claim is the copy's (one file); without them (Windows) the part
    is closed first: test_without_posix.py."""
    values = _png_segment(tmp_path / "a")
    segment = open_segment(tmp_path / "a")

    np.testing.assert_array_equal(segment.direct[1, ::2, :], values[1, ::2])

    reader = segment.direct._readers[1]
    assert os.fstat(reader._claim.fileno()).st_ino == reader.path.stat().st_ino
    assert os.listdir(decoded_home) == _copies(decoded_home)


def test_a_new_copy_is_claimed_from_the_moment_it_is_linked(tmp_path, decoded_home, monkeypatch):
    """Another process making room between the link and the claim finds it in use."""
    values = _png_segment(tmp_path / "a")
    monkeypatch.setattr(_cache, "DECODED_FILES_BYTES", 0)  # every unread copy is deleted
    link, trimmed = os.link, []

    def link_then_make_room(part, copy):
        link(part, copy)
        _cache._make_room(decoded_home, 0)  # as another process would, opening the file anew
        trimmed.append(Path(copy).exists())

    monkeypatch.setattr(os, "link", link_then_make_room)
    with warnings.catch_warnings():
        warnings.simplefilter("error", InkloopWarning)  # no "cannot keep decoded layers"
        pixels = open_segment(tmp_path / "a").direct[1, ::2, :]

    assert trimmed == [True]
    np.testing.assert_array_equal(pixels, values[1, ::2])
