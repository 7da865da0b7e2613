"""This user's own folder in the temporary folder, which every user may write: made for
this user alone, and never used where someone else made its name first."""

from __future__ import annotations

import contextlib
import os
import stat
import tempfile
from pathlib import Path

from inkloop._notify import notify


def own_temp_folder(name: str, make: bool = True) -> Path | None:
    """``<name>-<uid>`` in the temporary folder, made for this user alone (0700); None,
    said, where that name is taken by anything but this user's own real folder (a symlink,
    another user's). On Windows, whose temporary folder is the user's: ``<name>`` there.
    ``make=False`` only looks: a folder not there yet is its path, made by no one."""
    uid = os.geteuid() if hasattr(os, "geteuid") else None
    folder = Path(tempfile.gettempdir()) / (name if uid is None else f"{name}-{uid}")
    if make:
        with contextlib.suppress(FileExistsError):
            folder.mkdir(mode=0o700)
    try:
        found = folder.lstat()  # the name itself: a symlink is not followed
    except FileNotFoundError:
        if make:
            raise
        return folder
    if not stat.S_ISDIR(found.st_mode) or uid not in (None, found.st_uid):
        notify(f"{folder} is not a folder of your own: inkloop does not use it")
        return None
    if uid is not None and found.st_mode & 0o077:  # this user's, made open to others
        os.chmod(folder, 0o700)
    return folder
