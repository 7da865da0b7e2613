"""The small synthetic segment bundled with the package, and where synthetic truth is kept."""

from __future__ import annotations

import shutil
import tempfile
import time
from pathlib import Path

from inkloop._locks import claim, orphaned
from inkloop.io._own_temp import own_temp_folder

SAMPLE_NAME = "synthetic_sample"
SAMPLE_DATA = Path(__file__).resolve().parents[1] / "sample_data"
_COPIES = "inkloop-samples"  # this user's folder of copies, in the temporary folder
_COPY_PREFIX = "inkloop-sample-"
_IN_USE = ".inkloop-sample-in-use.lock"  # held by the process that made the copy
_STALE_S = 24 * 3600
_HELD: dict = {}  # this process's copies -> its claims on them: let go of when it ends


def sample_segment_path() -> Path:
    """Folder of the sample segment bundled in the package (``inkloop/sample_data``)."""
    folder = SAMPLE_DATA / SAMPLE_NAME
    if not folder.is_dir():
        raise FileNotFoundError(
            f"the sample segment '{SAMPLE_NAME}' is missing from {folder.parent}; make it "
            "with the command in its README.md"
        )
    return folder


def sample_copy() -> Path:
    """A scratch copy of the bundled sample, in a new folder of this user's own folder of
    copies (`own_temp_folder`): labels, their autosave, rounds and checkpoints are written
    beside a segment, and the installed package's folder is no place for them. This process
    holds it while it runs; the copies of processes known to have ended, untouched for a
    day, are removed first. Where that folder is not this user's own, the copy is made in
    the temporary folder, and none of the copies there is removed: they may be anyone's."""
    copies = own_temp_folder(_COPIES)
    if copies is not None:
        _remove_stale_copies(copies)
    scratch = Path(tempfile.mkdtemp(prefix=_COPY_PREFIX, dir=copies))
    _HELD[scratch] = claim(scratch / _IN_USE)
    copy = scratch / SAMPLE_NAME
    shutil.copytree(sample_segment_path(), copy)
    return copy


def _remove_stale_copies(copies: Path) -> None:
    """Remove the sample copies (6.5 MB each) in ``copies`` whose process is known to have
    ended (`orphaned`: its lock free, or without locks its recorded process gone) and that
    nobody changed for a day: each Open Sample makes one, and nothing else removes them
    before a reboot. A copy whose process cannot be known to have ended is kept."""
    for scratch in copies.glob(f"{_COPY_PREFIX}*"):
        lock = scratch / _IN_USE
        if scratch in _HELD or scratch.is_symlink() or lock.is_symlink():
            continue
        try:
            ended = time.time() - _last_change(scratch) >= _STALE_S and orphaned(lock)
        except OSError:  # gone meanwhile
            continue
        if ended:
            shutil.rmtree(scratch, ignore_errors=True)


def _last_change(scratch: Path) -> float:
    """When anything in ``scratch`` last changed (copied files keep the package's times)."""
    return max(path.lstat().st_mtime for path in (scratch, *scratch.rglob("*")))


def in_package_data(path: str | Path) -> bool:
    """Whether ``path`` is inside the package's own sample data, where nothing is written
    (it is part of an installation, shared by every user of it)."""
    return Path(path).resolve().is_relative_to(SAMPLE_DATA)


def truth_path(folder: str | Path, name: str | None = None) -> Path:
    """``folder/<name>_truth.png``: a synthetic segment's true ink (255 = ink), kept under a
    name the label loader does not pick up, so its labels can be a user's strokes instead."""
    folder = Path(folder)
    return folder / f"{name or folder.name}_truth.png"


def sample_truth_path() -> Path:
    """The bundled sample's true ink map (its labels are only the demo's example strokes)."""
    return truth_path(sample_segment_path())
