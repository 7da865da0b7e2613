"""Putting a finished prediction in the place of its output, and keeping it where it cannot go.

A folder output replaces the one before it by renames alone (`replace_folder`), so that a run
killed at any point leaves a whole output, the old or the new, which the next run into it puts
back (`recover`). Where the system refuses the last move (Windows, while napari, Fiji or QGIS
holds the old file open), the finished output is kept beside the old one under a name the user
sees (`kept_name`), and `NotReplacedError` says where: hours of prediction are never thrown
away at their last step.
"""

from __future__ import annotations

import itertools
import logging
import os
import shutil
from pathlib import Path

from inkloop.io._sidefiles import prediction_stem

log = logging.getLogger(__name__)


class NotReplacedError(ValueError):
    """The finished prediction could not replace its output (on Windows: another program has
    that open) and is kept beside it (`not_replaced` says where)."""


def not_replaced(out: Path, kept: Path, error: OSError) -> NotReplacedError:
    """The error saying that the new prediction for ``out`` is kept as ``kept``, as the
    system refused the move into place (``error``), and what the user does about it."""
    return NotReplacedError(
        f"{out} could not be replaced ({error.strerror or error}): is it open in napari, "
        f"Fiji, QGIS or another program? The new prediction is kept as {kept}: close what "
        f"shows {out.name}, then delete it and rename {kept.name} to {out.name}"
    )


def kept_name(out: Path) -> Path:
    """A free name beside ``out`` for its new prediction kept there, in its format:
    ``x_prediction.new.tif``, else ``x_prediction.new-2.tif``... (an earlier one is kept too)."""
    stem = prediction_stem(out)
    ending = out.name[len(stem) :]
    tags = itertools.chain(["new"], (f"new-{n}" for n in itertools.count(2)))
    names = (out.with_name(f"{stem}.{tag}{ending}") for tag in tags)
    return next(name for name in names if not name.exists())


def sync_placed(path: Path) -> None:
    """Make the rename to ``path`` durable (POSIX). The file is in place whatever the folder's
    sync says: a share's failure (EIO) is logged, and the prediction stays finished."""
    from inkloop.io._write import sync_folder

    try:
        sync_folder(path.parent)
    except OSError as error:
        log.warning("%s is written, but its folder could not be synced: %s", path, error)


def remove(path: Path) -> None:
    """Remove a file or folder if it is there; a link, not what it points to."""
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    else:
        path.unlink(missing_ok=True)


def beside(out: Path, what: str) -> Path:
    """The hidden ``.NAME.what`` beside ``out``: what a run stages, claims or sets aside."""
    return out.with_name(f".{out.name}.{what}")


def replace_folder(staged: Path, out: Path) -> None:
    """Put the complete folder ``staged`` in the place of ``out``. It is renamed ``.NAME.new``
    first, the name that says it is complete (a ``.NAME.partial`` never is); then `_move_in`.
    A kill at any point leaves a whole output under one of these names (`recover`); a move
    the system refuses leaves it under `kept_name` (`NotReplacedError`)."""
    finished = beside(out, "new")
    os.replace(staged, finished)
    try:
        _move_in(finished, out)
    except OSError as error:
        if not finished.exists():  # it is in place: removing the old one failed
            raise
        kept = kept_name(out)
        os.replace(finished, kept)
        _put_back(out)
        raise not_replaced(out, kept, error) from error


def _move_in(finished: Path, out: Path) -> None:
    """Rename ``finished`` to ``out``: an ``out`` that is there is renamed ``.NAME.old``
    first and removed only once the new one is in its place (a folder cannot be renamed
    over one, and removing it first would leave neither if the run were killed between)."""
    old = beside(out, "old")
    if out.exists():
        remove(old)  # what a run killed while removing it left
        os.replace(out, old)
    os.replace(finished, out)
    remove(old)


def recover(out: Path) -> None:
    """Finish the `replace_folder` of a run killed in the middle: its complete ``.NAME.new``
    goes into place, as that run was asked; else a ``.NAME.old`` where ``out`` is missing
    comes back (`_put_back`)."""
    finished = beside(out, "new")
    if finished.exists():
        _move_in(finished, out)
    _put_back(out)


def _put_back(out: Path) -> None:
    """A ``.NAME.old`` where ``out`` is missing becomes ``out`` again; whatever remains of
    one beside an ``out`` is removed."""
    old = beside(out, "old")
    if old.exists() and not out.exists():
        os.replace(old, out)
    remove(old)
