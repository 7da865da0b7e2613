"""The dock's autosaved copies of a segment's labels (``<id>_inklabels.autosave.png`` and its
supervision mask): beside the segment, or, where its folder refused them (a full disk, a
read-only or lost share), in a rescue folder (`rescue_folders`); and which of them the
segment opens with (`autosave_state`)."""

from __future__ import annotations

import errno
import logging
import os
import stat
import tempfile
from pathlib import Path
from typing import NamedTuple

from inkloop.io._homes import data_home
from inkloop.io._own_temp import own_temp_folder
from inkloop.io._sidefiles import label_paths, side_folder, supervision_path_for
from inkloop.io._torn_labels import torn
from inkloop.io._writable import own_side_folder

log = logging.getLogger(__name__)
UNSAVED = "unsaved"  # under the data folder: one rescue folder per segment
TEMPORARY = f"inkloop-{UNSAVED}"  # in the temporary folder, one per user (`own_temp_folder`)


def rescue_folders(segment) -> list[Path]:
    """Where autosave copies that ``segment``'s folder refuses are kept, in the order they
    are tried: ``unsaved/<id>-<hash>`` in inkloop's data folder, then ``<id>-<hash>`` in
    this user's own ``inkloop-unsaved-<uid>`` in the temporary folder (`own_temp_folder`;
    left out where that name is someone else's). Looking them up makes neither
    (`make_rescue_folder` does, to write one). Neither is a folder the segment
    opens from (as a read-only segment's own folder is): an opening finds the copies there
    (`autosaved_labels`), and Save labels still writes beside the segment. ``<id>-<hash>``
    names the segment's folder as `own_side_folder` does; a read-only segment's own folder
    is named for its share's, so the share's copies are found whether it is read-only or not."""
    key = _rescue_key(segment)
    temporary = own_temp_folder(TEMPORARY, make=False)
    return [data_home() / UNSAVED / key, *([] if temporary is None else [temporary / key])]


def _rescue_key(segment) -> str:
    """``<id>-<hash>``, the name of ``segment``'s rescue folders (`rescue_folders`)."""
    folder = side_folder(segment)
    own = own_side_folder(folder, segment.name)
    in_own_folders = os.path.abspath(folder.parent) == os.path.abspath(own.parent)
    return folder.name if in_own_folders else own.name


def folders_read(segment) -> list[Path]:
    """The folders an opening looks in for ``segment``'s rescued autosave copies: its
    `rescue_folders`, then the temporary one inkloop wrote before them (`_earlier_rescue`)."""
    return [*rescue_folders(segment), *_earlier_rescue(_rescue_key(segment))]


def _earlier_rescue(key: str) -> list[Path]:
    """``inkloop-unsaved-<uid>-<id>-<hash>`` in the temporary folder, where inkloop kept
    rescues before they moved into this user's own folder: read, never written, and only
    where it is this user's own real folder that no one else may write."""
    uid = os.getuid() if hasattr(os, "getuid") else None
    folder = Path(tempfile.gettempdir()) / f"{TEMPORARY}-{'' if uid is None else f'{uid}-'}{key}"
    try:
        found = folder.lstat()  # the name itself: a symlink is not followed
    except OSError:
        return []
    own = stat.S_ISDIR(found.st_mode) and uid in (None, found.st_uid)
    # others may not write into it; its group may (umask 002 made it so, with a group of
    # the user's own); Windows reports every writable folder as 0o777: its %TEMP% is the user's
    return [folder] if own and (uid is None or not found.st_mode & 0o002) else []


def make_rescue_folder(folder: Path) -> None:
    """Make ``folder``, one of `rescue_folders`, to write autosave copies in: the temporary
    one inside this user's own folder (`own_temp_folder`). Raises OSError where it cannot
    be made, or its name has become someone else's since it was looked up."""
    if folder.parent != data_home() / UNSAVED and own_temp_folder(TEMPORARY) != folder.parent:
        raise FileExistsError(errno.EEXIST, "not a folder of your own", str(folder.parent))
    folder.mkdir(parents=True, exist_ok=True)


class AutosaveState(NamedTuple):
    """What the segment's newest autosave (`newest_autosave`) opens as: ``copies``, a whole
    pair; ``orphan``, the ink of a pair whose own mask was never renamed into place (the
    process killed between the two: none there, or the one it was replacing, `torn`)."""

    copies: tuple[Path, Path] | None
    orphan: Path | None

    @property
    def files(self) -> tuple[Path, Path] | None:
        """The newest autosaved pair, whole or torn."""
        return self.copies or (self.orphan and (self.orphan, supervision_path_for(self.orphan)))


NO_AUTOSAVE = AutosaveState(None, None)  # none newer than the saved labels, or passed over


def autosave_state(segment) -> AutosaveState:
    """The segment's newest autosave, looked up once, as it opens (`AutosaveState`)."""
    pair = newest_autosave(segment)
    if pair is None:
        return NO_AUTOSAVE
    if pair[1].is_file() and not torn(*pair):
        return AutosaveState(pair, None)
    return AutosaveState(None, pair[0])


def autosaved_labels(segment) -> tuple[Path, Path] | None:
    """The autosaved label files the segment opens with, if any: the newest autosaved pair
    where it is whole (`autosave_state`)."""
    return autosave_state(segment).copies


def newest_autosave(segment) -> tuple[Path, Path] | None:
    """The newest autosaved pair, torn or whole, by its ink's time: of those kept in the
    rescue folders, the newest that is newer than every label file beside the segment
    (strokes its folder refused), else the pair beside it if newer than the saved labels (a
    crash to recover). Saved labels are as new as their older file: a Save killed between
    its two renames leaves new ink beside the old mask, and the autosave is then newer."""
    autosaved, saved = label_paths(segment, autosave=True), label_paths(segment)
    beside = max((_written(path) for path in (*autosaved, *saved)), default=-1)
    rescued = [pair for pair in rescued_pairs(segment) if _written(pair[0]) > beside]
    if rescued:
        return max(rescued, key=lambda pair: _written(pair[0]))
    return autosaved if _written(autosaved[0]) > _whole_since(saved) else None


def rescued_pairs(segment) -> list[tuple[Path, Path]]:
    """The pairs of autosave copies of ``segment`` in its rescue folders (`folders_read`)
    whose ink is there; its mask may not be (a folder's first write, killed between its two
    renames)."""
    names = [path.name for path in label_paths(segment, autosave=True)]
    pairs = [tuple(folder / name for name in names) for folder in folders_read(segment)]
    return [pair for pair in pairs if _readable_file(pair[0])]


def _readable_file(path: Path) -> bool:
    """Whether ``path`` is a file this user may read about (a rescue folder another user
    made, say in the shared temporary folder, may not be)."""
    try:
        return path.is_file()
    except OSError as error:
        log.info("autosave copies in %s not looked at: %s", path.parent, error)
        return False


def is_dock_labels(segment, ink_path) -> bool:
    """Whether ``ink_path`` is ink labels the dock paints and restores for ``segment``: its
    saved labels, or their autosave copy beside it or in a rescue folder."""
    autosaved = label_paths(segment, autosave=True)[0]
    rescued = [folder / autosaved.name for folder in folders_read(segment)]
    ours = [segment.files.get("ink_labels"), label_paths(segment)[0], autosaved, *rescued]
    return Path(ink_path).resolve() in {Path(path).resolve() for path in ours if path}


def _whole_since(paths) -> int:
    """When the files of a label pair that exist were all written (ns; -1 for none)."""
    return min((_written(path) for path in paths if path.is_file()), default=-1)


def _written(path: Path) -> int:
    """When ``path`` was last written (ns; -1 if it is not there)."""
    try:
        return path.stat().st_mtime_ns
    except OSError:
        return -1
