"""Reading and writing without the calls Windows lacks: no os.preadv (whole-row and strided
reads seek and read a file of their own), no os.fchmod before Python 3.13 (new files keep the
mode they were made with)."""

from __future__ import annotations

import gc
import os
import warnings
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from inkloop._notify import InkloopWarning
from inkloop.io import _cache, _claims, open_segment, save_labels
from inkloop.io._cache import DecodedLayer
from inkloop.io._raw import RawArray
from inkloop.io._write import write_png
from tests._helpers import linux_only

READS = [(2, slice(None), slice(None)), (5, slice(1, 60, 3), slice(2, 90, 4)), (0, 7, slice(None))]


def _png_segment(folder: Path, seed: int = 4) -> None:
    values = np.random.default_rng(seed).integers(0, 256, (3, 24, 40), dtype=np.uint8)
    (folder / "layers").mkdir(parents=True)
    for z, layer in enumerate(values):
        Image.fromarray(layer).save(folder / "layers" / f"{z:02d}.png")


@pytest.mark.parametrize("layers", ["tif", "png"])
def test_whole_rows_and_strides_read_the_same_without_pread(
    tmp_path, segment_folder, monkeypatch, layers
):
    folder = segment_folder
    if layers == "png":
        folder = tmp_path / "pngs"
        _png_segment(folder)
    segment = open_segment(folder)
    reads = [(min(z, segment.shape[0] - 1), rows, cols) for z, rows, cols in READS]
    expected = [segment.direct[key] for key in reads]
    kind = DecodedLayer if layers == "png" else RawArray
    assert all(type(reader) is kind for reader in segment.direct._readers.values())

    monkeypatch.delattr(os, "preadv", raising=False)  # Windows has none to remove
    monkeypatch.delattr(os, "pread", raising=False)

    for key, values in zip(reads, expected, strict=True):
        np.testing.assert_array_equal(segment.direct[key], values)
        np.testing.assert_array_equal(open_segment(folder).direct[key], values)


def test_a_decoded_layer_read_without_pread_has_an_offset_of_its_own(tmp_path, monkeypatch):
    _png_segment(tmp_path / "pngs")
    segment = open_segment(tmp_path / "pngs")
    segment.direct[0, ::2, :]
    layer = segment.direct._readers[0]
    assert isinstance(layer, DecodedLayer)
    monkeypatch.delattr(os, "preadv", raising=False)

    with layer._open() as one, layer._open() as other:
        one.seek(100)
        assert other.tell() == 0  # os.dup copies of the claim would share one offset


def test_files_are_written_without_fchmod(segment_folder, monkeypatch):
    monkeypatch.delattr(os, "fchmod", raising=False)  # Windows has it from Python 3.13
    image = np.arange(12, dtype=np.uint8).reshape(3, 4)

    write_png(segment_folder / "written.png", image)
    segment = open_segment(segment_folder)
    ink = np.zeros(segment.shape[1:], np.uint8)
    ink[10:20, 10:20] = 255
    paths = save_labels(segment, ink, ink > 0)

    np.testing.assert_array_equal(np.asarray(Image.open(segment_folder / "written.png")), image)
    assert all(Path(path).is_file() for path in paths)
    assert not list(segment_folder.glob(".*.tmp"))


@pytest.fixture
def windows_sharing(monkeypatch):
    """No file locks, and Windows' sharing rules: a file this process holds open or mapped,
    under any of its names, is neither deleted nor replaced (PermissionError)."""
    monkeypatch.setattr(_claims, "LOCKS", False)

    def refused_if_open(call):
        def guarded(path, *args, **kwargs):
            if _open_here(path):
                raise PermissionError(13, "in use (simulated Windows)", str(path))
            return call(path, *args, **kwargs)

        return guarded

    for name in ("unlink", "remove", "replace"):
        monkeypatch.setattr(os, name, refused_if_open(getattr(os, name)))


def _open_here(path) -> bool:
    try:
        target = os.stat(path)
    except OSError:
        return False
    held = [os.stat(fd.path) for fd in os.scandir("/proc/self/fd") if os.path.exists(fd.path)]
    mapped = Path("/proc/self/maps").read_text().split()
    return any(st.st_ino == target.st_ino for st in held) or str(target.st_ino) in mapped


@linux_only("/proc/self/fd and /proc/self/maps, to play Windows' sharing rules")
def test_decoded_copies_are_made_and_trimmed_under_windows_sharing_rules(
    tmp_path, monkeypatch, windows_sharing
):
    decoded = tmp_path / "decoded"
    monkeypatch.setenv(_cache.DECODED_FOLDER_ENV, str(decoded))
    _png_segment(tmp_path / "a")
    _png_segment(tmp_path / "b", seed=5)
    held, other = open_segment(tmp_path / "a"), open_segment(tmp_path / "b")
    with warnings.catch_warnings():
        warnings.simplefilter("error", InkloopWarning)  # every layer gets its copy
        held.volume.compute()
        other.volume.compute()
    assert len(os.listdir(decoded)) == 6  # the copies, no part left
    del other
    gc.collect()  # its copies are read no more

    monkeypatch.setattr(_cache, "DECODED_FILES_BYTES", 0)
    _cache._make_room(decoded, 0)

    assert sorted(os.listdir(decoded)) == sorted(
        layer.path.name for layer in held.direct._readers.values()
    )
