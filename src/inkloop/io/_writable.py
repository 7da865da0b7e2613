"""A folder of inkloop's own for a local segment whose side folder cannot be written (scroll
data often sits on read-only shares): its labels and their autosaves, model, rounds,
validation region and default predictions go there, under the same folder as remote
segments' (`$INKLOOP_DATA`, else the platform's data folder), in ``read-only/<id>-<hash>``.

The segment's existing side files are linked in (copied where links cannot be made), so
they are read from their folder until inkloop writes its own: every write replaces its file
atomically, which replaces the link, never the read-only file it points to. Once made, the
folder stays the segment's, so work kept there is found even when the share becomes
writable.
"""

from __future__ import annotations

import errno
import hashlib
import os
import shutil
import tempfile
from pathlib import Path

from inkloop._notify import notify
from inkloop.io._homes import data_home
from inkloop.io._layers import layer_number
from inkloop.io._sidefiles import prediction_stem

OWN_FOLDERS = "read-only"  # under the data folder: one folder per segment
# the folders this process has named, in the environment: a napari session opens a segment
# several times, and the engine that the dock spawns opens it again
TOLD_ENV = "INKLOOP_OWN_FOLDERS_TOLD"
_READ_ONLY_ERRORS = {errno.EROFS, errno.EACCES, errno.EPERM}
_SIDE_IMAGE_SUFFIXES = (".png", ".tif", ".tiff")


def writable_side_folder(folder: Path, name: str, *, plain: bool = False) -> Path:
    """Where a local segment ``name`` whose side files are in ``folder`` keeps them: ``folder``
    itself if it can be written and the segment has no folder of its own yet, else that
    folder (`own_side_folder`), made and given links to ``folder``'s side files of ``name``
    (and, if ``plain``, to its unnumbered images: ``mask.png``); a notice says where."""
    own, writable = own_side_folder(folder, name), is_writable(folder)
    if writable and not own.is_dir():
        return folder
    try:
        own.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        _tell_once(own, f"{folder} is read-only, and {own} cannot be made ({error})")
        return folder
    _link_side_files(folder, own, name, plain)
    if writable:
        _tell_once(
            own,
            f"{name}'s labels, model and rounds are in {own} (made when {folder} was read-only)",
        )
    else:
        _tell_once(
            own, f"{folder} is read-only: {name}'s labels, model and rounds are kept in {own}"
        )
    return own


def _tell_once(own: Path, message: str) -> None:
    """Say ``message`` about ``own`` unless this process, or the one that started it, has
    said where it is."""
    told = os.environ.get(TOLD_ENV, "")
    if str(own) not in told.split(os.pathsep):
        os.environ[TOLD_ENV] = os.pathsep.join([told, str(own)]) if told else str(own)
        notify(message, stacklevel=2)


def own_side_folder(folder: Path, name: str) -> Path:
    """inkloop's own folder for the side files of ``name`` in ``folder`` (the segments that
    share them there, a TIFF stack and a zarr of one name, share it too)."""
    # fsencode: a name's undecodable bytes (a Latin-1 share) as they are; valid UTF-8 names
    # hash as they did with str.encode
    digest = hashlib.sha1(os.fsencode(folder.resolve() / name)).hexdigest()[:10]
    return data_home() / OWN_FOLDERS / f"{name}-{digest}"


def is_writable(folder: Path) -> bool:
    """Whether a file can be made in ``folder``, by trying (os.access is wrong for root and on
    some network shares). Errors other than a refusal leave it to the write to say."""
    try:
        with tempfile.TemporaryFile(dir=folder):
            return True
    except OSError as error:
        return error.errno not in _READ_ONLY_ERRORS


def _link_side_files(folder: Path, own: Path, name: str, plain: bool) -> None:
    """Link ``folder``'s side files of ``name`` into ``own`` where ``own`` has none of that
    name (a link, or a file inkloop wrote); predictions (folders, some) are left out."""
    for entry in folder.iterdir():
        target = own / entry.name
        if target.is_symlink() or target.exists() or not _is_side_file(entry, name, plain):
            continue
        try:
            target.symlink_to(entry)
        except OSError:  # Windows without the right to make links
            shutil.copyfile(entry, target)


def _is_side_file(entry: Path, name: str, plain: bool) -> bool:
    """Whether ``entry`` is one of segment ``name``'s side files, predictions aside."""
    hidden = entry.name.startswith(".")  # a writer's temporary file, a lock
    if hidden or not entry.is_file() or prediction_stem(entry).endswith("_prediction"):
        return False
    if entry.name.startswith(f"{name}_"):  # not a TIFF: a_b.tif is another segment's stack
        return entry.suffix.lower() not in (".tif", ".tiff")
    image = entry.suffix.lower() in _SIDE_IMAGE_SUFFIXES
    return plain and image and layer_number(entry.name) is None  # mask.png, not a layer
