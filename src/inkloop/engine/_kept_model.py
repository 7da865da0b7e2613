"""The first save to the own model file: a model there that the engine did not start from
is set aside (`kept_copy_path`) once the new one is written whole beside it, and comes back
where the new one cannot be moved in."""

from __future__ import annotations

import logging
import os
from pathlib import Path

from inkloop.io import atomic_path
from inkloop.io._sidefiles import kept_copy_path
from inkloop.io._write import sync_file, sync_folder

log = logging.getLogger(__name__)


def write_keeping(path: Path, data: bytes | memoryview, keep: bool) -> Path | None:
    """Write ``data`` to ``path`` whole or not at all; where ``keep``, a file at ``path`` is
    first set aside as `kept_copy_path` (returned; else None), once the new one is on disk
    beside it. A write that fails (a full disk) leaves it in place; a move-in that fails
    (Windows: a scanner holding the new file) puts it back, which its OSError says. OSError
    if it cannot be set aside (nothing written). Once the new one is in, it is the save made."""
    kept = None
    try:
        with atomic_path(path, durable=False) as staged:
            Path(staged).write_bytes(data)
            sync_file(staged)  # whole on disk before the earlier model moves, and the rename
            if keep and path.exists():
                kept = _set_aside(path)
    except BaseException as error:
        if kept is None:
            raise
        back = _put_back(kept, path)
        if not isinstance(error, OSError):
            raise
        raise _saying(error, f"{error}; {back}") from error
    _sync_folder_of(path)
    return kept


def _sync_folder_of(path: Path) -> None:
    """Make the rename to ``path`` durable where the folder lets it; written either way."""
    try:
        sync_folder(path.parent)
    except OSError as error:  # EIO on a flaky share: the new file is in, as a crash would see
        log.warning("%s is written, but its folder could not be synced: %s", path, error)


def _saying(error: OSError, said: str) -> OSError:
    """``error`` with ``said`` as its words: the same class and errno, so that whose error it
    is (`inkloop._errors.users_error`) does not change."""
    told = type(error)(said)
    told.errno = error.errno
    return told


def _set_aside(path: Path) -> Path:
    kept = kept_copy_path(path)
    try:
        os.replace(path, kept)  # atomic; `kept` was free
    except OSError as error:
        said = f"the model saved there before could not be kept as {kept.name}"
        raise _saying(error, f"{said}: {error}") from error
    return kept


def _put_back(kept: Path, path: Path) -> str:
    """Move the model set aside as ``kept`` back to ``path``; where it is, in words."""
    try:
        if not path.exists():  # never over a file another writer put there since
            os.replace(kept, path)
            return "the model saved there before is back in place"
    except OSError as error:
        return f"the model saved there before is still kept as {kept} ({error})"
    return f"the model saved there before is still kept as {kept}"


def kept_said(path: Path, kept: Path) -> str:
    """What a save says where it set the model at ``path`` aside as ``kept``."""
    return (
        f"this run did not start from the model saved before in {path}: that model is kept as "
        f"{kept}, and this run's saves go to {path.name}"
    )
