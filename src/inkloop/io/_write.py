"""Atomic writers for layer and label images: a crash never leaves a half-written file."""

from __future__ import annotations

import errno
import logging
import os
import re
import tempfile
import time
from collections.abc import Iterable
from contextlib import contextmanager
from pathlib import Path

import numpy as np

log = logging.getLogger(__name__)

# the mode a plain open() would give a new file; read once here, as os.umask can only be read
# by setting it, which would race with threads that create files
_UMASK = os.umask(0o022)
os.umask(_UMASK)
NEW_FILE_MODE = 0o666 & ~_UMASK
# a part unwritten this long was left by a writer that ended (killed, crashed): writers
# write their part as they go, and none pauses an hour between the part and its rename
LEFT_PART_S = 3600
_PART_NAME = re.compile(r"\.(.+)\.[a-z0-9_]{8}\.tmp")  # new_part's: tempfile's 8 random characters


def write_layer(
    path: str | Path, image: np.ndarray, *, compression: str | None = None, durable: bool = True
) -> Path:
    """Write one 2D layer as a single-page TIFF (tiled when compressed, for windowed reads).
    ``durable``: `atomic_path`'s (False for layers that can be made again: synthetic ones)."""
    import tifffile

    options = {}
    if compression:
        options = {"compression": compression, "predictor": True}
        if min(image.shape) >= 256:
            options["tile"] = (256, 256)
    with atomic_path(path, durable=durable) as tmp:
        tifffile.imwrite(tmp, image, photometric="minisblack", **options)
    return Path(path)


def write_png(
    path: str | Path, image: np.ndarray, text: dict[str, str] | None = None, *, durable: bool = True
) -> Path:
    """Write a uint8 grey image (mask, ink labels) as PNG, with ``text`` in tEXt chunks.
    ``durable``: `atomic_path`'s."""
    with atomic_path(path, durable=durable) as tmp:
        encode_png(tmp, image, text)
    return Path(path)


def encode_png(
    path: str | Path, image: np.ndarray, text: dict[str, str] | None = None, *, fast: bool = False
) -> None:
    """`write_png` without the temporary file: for callers that rename files themselves.
    ``fast``: zlib's level 1, not PIL's 6: a third to a half less time, for a file a few
    times larger that reads back the same (autosave copies, written while painting)."""
    from PIL import Image, PngImagePlugin

    if image.dtype != np.uint8 or image.ndim != 2:
        raise ValueError(f"write_png takes a 2D uint8 image, not {image.ndim}D {image.dtype}")
    info = PngImagePlugin.PngInfo()
    for key, value in (text or {}).items():
        info.add_text(key, value)
    level = {"compress_level": 1} if fast else {}
    Image.fromarray(image).save(path, format="PNG", pnginfo=info, **level)


def check_writable(path: str | Path) -> None:
    """Fail before any work if ``path`` cannot be written: its folder missing or not
    writable (locked, read-only medium or share), or its name too long for the file system.
    The very part a write of ``path`` makes (`new_part`) is made and deleted to find out:
    os.access is wrong for root, on Windows and on some network shares, and blind to names."""
    path = Path(path).expanduser()
    folder = path.parent.resolve()
    if not folder.is_dir():
        raise ValueError(f"{folder}: folder does not exist")
    try:
        Path(new_part(folder / path.name)).unlink()
    except OSError as error:
        raise ValueError(_cannot_write(folder / path.name, error)) from error


def _cannot_write(path: Path, error: OSError) -> str:
    if error.errno == errno.ENAMETOOLONG:
        return (
            f"{path}: the name is too long for the file system (inkloop first writes it as "
            f".{path.name}.<8 characters>.tmp): give a shorter one"
        )
    why = "" if error.errno in (errno.EACCES, errno.EPERM) else f" ({error.strerror or error})"
    return f"{path.parent}: cannot write here{why}"


@contextmanager
def atomic_path(path: str | Path, *, durable: bool = True):
    """Yield a temporary path beside ``path``; rename it over ``path`` only on success. What
    the caller writes there must be closed when its ``with`` block ends.

    ``durable``: the part is synced to the disk before the rename, and (on POSIX) its folder
    after it, so a write that returned survives a power cut, not only a crash (a rename
    alone can leave an empty file on XFS, ext4 with data=writeback, FAT and some shares).
    False for copies that can be made again, written often (caches).

    The file gets the mode any new file would (mkstemp's 0600 would hide checkpoints and
    predictions from colleagues and from dask workers running as another user)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = new_part(path)
    try:
        yield tmp
        if durable:
            sync_file(tmp)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    if durable:
        sync_folder(path.parent)


def sync_file(path: str) -> None:
    """Make what was written to ``path`` durable (`atomic_path` does, where ``durable``)."""
    # Windows flushes only a handle open for writing; a POSIX read-only one will do
    _sync(path, os.O_RDWR if os.name == "nt" else os.O_RDONLY)


def sync_folder(folder: Path) -> None:
    """Make the renames in ``folder`` durable (POSIX; Windows cannot open folders)."""
    if os.name == "nt":
        return
    try:
        _sync(folder, os.O_RDONLY)
    except PermissionError as error:  # a folder one may write in but not list (-wx)
        log.debug("%s not synced: %s", folder, error)


def _sync(path: str | Path, flags: int) -> None:
    fd = os.open(path, flags)
    try:
        os.fsync(fd)
    except OSError as error:
        if error.errno not in (errno.EINVAL, errno.EBADF, errno.ENOTSUP):
            raise
        log.debug("%s not synced: %s", path, error)  # a file system that cannot (some folders)
    finally:
        os.close(fd)


def new_part(path: Path) -> str:
    """A new empty file ``.<name>.<random>.tmp`` beside ``path``, with the mode any new file
    would get: where ``path`` is written before it is put in place."""
    fd, part = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        if hasattr(os, "fchmod"):  # Windows before Python 3.13 has none (and no mode bits)
            os.fchmod(fd, NEW_FILE_MODE)
    finally:
        os.close(fd)
    return part


def remove_left_parts(paths: Iterable[Path]) -> list[Path]:
    """Delete the parts (`new_part`) of ``paths`` that ended writers left beside them: only
    those unwritten for `LEFT_PART_S`, so that no write under way in another process loses
    its part, and nothing else. Returns the parts deleted, each logged."""
    names_in: dict[Path, set[str]] = {}
    for path in map(Path, paths):
        names_in.setdefault(path.parent, set()).add(path.name)
    written_before = time.time() - LEFT_PART_S
    removed = []
    for folder, names in names_in.items():
        try:
            entries = list(os.scandir(folder))
        except (FileNotFoundError, NotADirectoryError):  # nothing written there yet
            continue
        except OSError as error:  # not ours to list (another user's): nothing of ours there
            log.info("parts left in %s not looked for: %s", folder, error)
            continue
        for entry in entries:
            found = _PART_NAME.fullmatch(entry.name)
            ours = found and found[1] in names and _unwritten_since(entry, written_before)
            if ours and _removed(Path(entry.path)):
                removed.append(Path(entry.path))
    return removed


def _unwritten_since(entry: os.DirEntry, moment: float) -> bool:
    try:
        return entry.is_file(follow_symlinks=False) and entry.stat().st_mtime < moment
    except FileNotFoundError:  # renamed into place or deleted by its own process
        return False


def _removed(part: Path) -> bool:
    try:
        part.unlink()
    except FileNotFoundError:  # another process swept it first
        return False
    except OSError as error:  # a read-only folder: kept, and said
        log.warning("could not delete %s, left by an ended write: %s", part, error)
        return False
    log.info("deleted %s, left by an ended write", part)
    return True
