"""What `atomic_path` writes survives a power cut (synced before and after its rename), and
`check_writable` refuses what a write would fail at, names too long included."""

from __future__ import annotations

import os

import numpy as np
import pytest

from inkloop.io import atomic_path, check_writable, write_png
from tests._helpers import posix_only


def _record_syncs_and_renames(monkeypatch) -> list:
    """Calls to os.fsync (as the file synced: its device and inode) and os.replace, in order."""
    calls, real_fsync, real_replace = [], os.fsync, os.replace

    def fsync(fd):
        calls.append(("fsync", _file_id(os.fstat(fd))))
        return real_fsync(fd)

    def replace(source, target):
        calls.append(("replace", os.fspath(target)))
        return real_replace(source, target)

    monkeypatch.setattr(os, "fsync", fsync)
    monkeypatch.setattr(os, "replace", replace)
    return calls


def _file_id(stat: os.stat_result) -> tuple[int, int]:
    return stat.st_dev, stat.st_ino


@posix_only("a folder synced after the rename (Windows cannot open folders)")
def test_the_part_is_synced_before_its_rename_and_the_folder_after(tmp_path, monkeypatch):
    calls = _record_syncs_and_renames(monkeypatch)
    out = write_png(tmp_path / "x_inklabels.png", np.full((8, 8), 255, np.uint8))
    assert calls == [
        ("fsync", _file_id(os.stat(out))),  # the part, which the rename keeps
        ("replace", str(out)),
        ("fsync", _file_id(os.stat(tmp_path))),
    ]


def test_copies_that_can_be_made_again_are_not_synced(tmp_path, monkeypatch):
    calls = _record_syncs_and_renames(monkeypatch)
    with atomic_path(tmp_path / "chunk", durable=False) as part, open(part, "wb") as file:
        file.write(b"kept to be read again")
    assert calls == [("replace", str(tmp_path / "chunk"))]


@posix_only("ENAMETOOLONG for a name past 255 bytes (Windows answers otherwise)")
def test_a_name_too_long_for_the_file_system_is_refused_and_nothing_is_left(tmp_path):
    folder = tmp_path / "out"
    folder.mkdir()
    name = "m" * 245 + ".pt"  # fits; the part a write makes of it, 14 characters more, does not
    with pytest.raises(ValueError, match="the name is too long for the file system") as refusal:
        check_writable(folder / name)
    assert f".{name}.<8 characters>.tmp" in str(refusal.value)
    assert list(folder.iterdir()) == []
    check_writable(folder / "m.pt")  # a name that fits passes, and leaves nothing either
    assert list(folder.iterdir()) == []


def test_a_folder_that_refuses_files_is_refused_though_os_access_allows_it(tmp_path, monkeypatch):
    """A read-only medium or share, a Windows one above all (where os.access passes every
    folder): what a write would meet, met before any work."""
    import errno
    import tempfile

    def read_only(*args, **kwargs):
        raise OSError(errno.EROFS, "Read-only file system")

    assert os.access(tmp_path, os.W_OK)
    monkeypatch.setattr(tempfile, "mkstemp", read_only)
    with pytest.raises(ValueError, match=r"cannot write here \(Read-only file system\)$"):
        check_writable(tmp_path / "model.pt")
