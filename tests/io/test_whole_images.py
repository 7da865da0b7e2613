"""PNG and JPEG layers (decoded only whole): decoded once into an uncompressed copy and read
from it by every reader (patches, the display pyramid's strided reads, another process, a
later run), with the decoded values; a changed file is decoded again; the copies' folder is
bounded without deleting a copy in use."""

from __future__ import annotations

import gc
import os
import pickle
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageFile

from inkloop._napari._pyramid import EveryNth
from inkloop._notify import InkloopWarning
from inkloop.io import _cache, open_segment

SHAPE = (5, 40, 56)  # Z, H, W


@pytest.fixture(autouse=True)
def decoded_home(tmp_path, monkeypatch) -> Path:
    """Where the decoded copies go (never the user's cache)."""
    monkeypatch.setenv(_cache.DECODED_FOLDER_ENV, str(tmp_path / "decoded"))
    return tmp_path / "decoded"


@pytest.fixture
def decodes(monkeypatch) -> list[str]:
    """The names of the image files Pillow decodes from now on, one entry per decode."""
    load = ImageFile.ImageFile.load

    def counted(self):
        if self.tile:  # pixels still to decode (a decoded image's load returns them)
            decodes.append(Path(self.filename).name)
        return load(self)

    decodes: list[str] = []
    monkeypatch.setattr(ImageFile.ImageFile, "load", counted)
    return decodes


def _layer_folder(folder: Path, suffix: str, dtype=np.uint8) -> np.ndarray:
    """A segment of SHAPE with its layers in ``suffix`` files; their values as Pillow
    decodes them (a JPEG's, lossy, are not the values saved)."""
    rng = np.random.default_rng(1)
    top = np.iinfo(dtype).max
    saved = rng.integers(0, top, SHAPE, dtype=dtype, endpoint=True)
    (folder / "layers").mkdir(parents=True)
    for z, layer in enumerate(saved):
        Image.fromarray(layer).save(folder / "layers" / f"{z:02d}{suffix}")
    return np.stack([np.asarray(Image.open(path)) for path in _layer_files(folder)])


def _layer_files(folder: Path) -> list[Path]:
    return sorted((folder / "layers").iterdir())


def _copies(folder: Path) -> list[str]:
    return sorted(path.name for path in folder.glob("*.raw"))


@pytest.mark.parametrize(("suffix", "dtype"), [(".jpg", np.uint8), (".png", np.uint16)])
def test_each_layer_is_decoded_once_for_every_reader(tmp_path, decodes, suffix, dtype):
    folder = tmp_path / "20240101000000"
    decoded = _layer_folder(folder, suffix, dtype)
    decodes.clear()
    segment = open_segment(folder)
    assert decodes == []  # headers only

    targets = [np.empty((5, 10, 12), dtype) for _ in range(2)]
    segment.read_into([0, 1, 2, 3, 4], [(0, 0, 10, 12), (30, 44, 40, 56)], targets)
    assert sorted(decodes) == [path.name for path in _layer_files(folder)]

    np.testing.assert_array_equal(targets[0], decoded[:, :10, :12])
    np.testing.assert_array_equal(targets[1], decoded[:, 30:, 44:])
    patch = segment.read([4, 1], slice(3, 33), slice(5, 50))
    np.testing.assert_array_equal(patch, decoded[[4, 1], 3:33, 5:50])
    np.testing.assert_array_equal(EveryNth(segment, 4)[2], decoded[2, ::4, ::4])  # display
    np.testing.assert_array_equal(segment.direct[3, 1::3, 2::5], decoded[3, 1::3, 2::5])
    np.testing.assert_array_equal(segment.volume.compute(), decoded)
    elsewhere = pickle.loads(pickle.dumps(segment))  # as the engine process or a worker has it
    np.testing.assert_array_equal(elsewhere.read([0], slice(0, 40), slice(0, 56)), decoded[:1])
    np.testing.assert_array_equal(open_segment(folder).volume.compute(), decoded)  # a later run
    assert len(decodes) == SHAPE[0]


def test_a_changed_layer_file_is_decoded_again(tmp_path, decodes):
    folder = tmp_path / "20240101000000"
    decoded = _layer_folder(folder, ".png")
    np.testing.assert_array_equal(open_segment(folder).volume.compute(), decoded)
    path = _layer_files(folder)[1]
    written = os.stat(path).st_mtime_ns
    Image.fromarray(255 - decoded[1]).save(path)
    os.utime(path, ns=(written, written + 10**9))  # however coarse the file system's clock
    decodes.clear()

    again = open_segment(folder)

    np.testing.assert_array_equal(again.volume[1].compute(), 255 - decoded[1])
    np.testing.assert_array_equal(again.volume[0].compute(), decoded[0])
    assert decodes == [path.name]


def test_copies_beyond_the_budget_are_deleted_unless_in_use(tmp_path, decoded_home, monkeypatch):
    layer_bytes = SHAPE[1] * SHAPE[2]
    monkeypatch.setattr(_cache, "DECODED_FILES_BYTES", 3 * layer_bytes)
    first, second = tmp_path / "a", tmp_path / "b"
    decoded = _layer_folder(first, ".png")
    _layer_folder(second, ".png")
    reading = open_segment(first)
    reading.volume.compute()
    assert len(_copies(decoded_home)) == SHAPE[0]  # over the budget, and every one in use
    (decoded_home / "notes.txt").write_text("not a copy")  # the user named a folder of theirs
    left = decoded_home / f".{'0' * 40}.raw.x1y2.tmp"
    left.write_bytes(b"\0" * 10)
    os.utime(left, (0, 0))  # a part a process left when it ended
    writing = decoded_home / f".{'1' * 40}.raw.x3y4.tmp"
    writing.write_bytes(b"\0" * 10)

    other = open_segment(second)
    other.read([0], slice(0, 8), slice(0, 8))

    assert len(_copies(decoded_home)) == SHAPE[0] + 1  # those in use are kept
    np.testing.assert_array_equal(reading.volume.compute(), decoded)
    assert not left.exists()
    assert writing.exists()
    assert (decoded_home / "notes.txt").exists()
    del reading
    gc.collect()  # the first segment closed: its copies are no longer in use
    other.volume.compute()
    assert len(_copies(decoded_home)) == SHAPE[0]  # the second segment's, in use


@pytest.mark.parametrize("trouble", ["not a folder", "no room"])
def test_without_room_for_copies_layers_are_decoded_in_memory(
    tmp_path, monkeypatch, decodes, trouble
):
    folder = tmp_path / "20240101000000"
    decoded = _layer_folder(folder, ".jpg")
    decodes.clear()
    if trouble == "not a folder":
        (tmp_path / "file").write_text("")
        monkeypatch.setenv(_cache.DECODED_FOLDER_ENV, str(tmp_path / "file" / "decoded"))
    else:
        monkeypatch.setattr(_cache, "FREE_SPACE_KEPT", 1 << 60)

    with pytest.warns(InkloopWarning, match="cannot keep decoded layers there") as said:
        values = open_segment(folder).volume.compute()

    np.testing.assert_array_equal(values, decoded)
    assert len({str(warning.message) for warning in said}) == 1  # one message, said once
    assert sorted(decodes) == [path.name for path in _layer_files(folder)]  # room, then decoding
