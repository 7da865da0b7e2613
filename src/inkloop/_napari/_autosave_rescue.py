"""Where autosave copies go when the segment's folder refuses them: the rescue folders
(`inkloop.io._autosaved.rescue_folders`), and the words that name a refusal and its disk."""

from __future__ import annotations

import contextlib
import logging
import os
from pathlib import Path

from inkloop.io import write_label_files
from inkloop.io._autosaved import make_rescue_folder, rescue_folders
from inkloop.io._homes import data_home
from inkloop.io._sidefiles import side_folder

log = logging.getLogger(__name__)


def reason(error: OSError) -> str:
    """``error`` less the file it names (mkstemp's random name in a read-only folder), so that
    every refusal reads the same; the messages name the folder."""
    return str(OSError(error.errno, error.strerror)) if error.strerror else str(error)


def rescue_targets(segment) -> list[Path]:
    """The rescue folders that autosave copies the segment's folder refuses are written to,
    in order (`rescue_folders`): the temporary one alone where the segment's side files are
    in inkloop's data folder already (a remote segment's, a read-only one's), whose disk
    has refused them."""
    folder = side_folder(segment)
    at_home = Path(os.path.abspath(folder)).is_relative_to(os.path.abspath(data_home()))
    return rescue_folders(segment)[1:] if at_home else rescue_folders(segment)


def write_elsewhere(segment, file_name: str, labels, refused: OSError) -> Path:
    """Write ``labels`` (ink, supervision) as ``file_name`` and its supervision mask in the
    first rescue folder that takes them; the ink's path. Raises ``refused`` if none does."""
    for folder in rescue_targets(segment):
        try:
            make_rescue_folder(folder)
            return write_label_files(folder / file_name, *labels, fast=True)[0]
        except OSError as error:
            log.warning("autosave copies refused in %s too: %s", folder, error)
            remove_if_empty(folder)
    raise refused


def remove_if_empty(folder: Path) -> None:
    with contextlib.suppress(OSError):  # not empty (in use), or not there: left as it is
        folder.rmdir()


def disk_of(folder: Path) -> Path:
    """The mount point of the disk that holds ``folder``, to name it in a message."""
    path = Path(os.path.abspath(folder))
    return next(mount for mount in (path, *path.parents) if os.path.ismount(mount))
