"""A folder of inkloop's own for a local segment whose side folder cannot be written (scroll
data often sits on read-only shares): its labels and their autosaves, model, rounds,
validation region and default predictions go there, under the same folder as remote
segments' (`$INKLOOP_DATA`, else the platform's data folder), in ``read-only/<id>-<hash>``.

The segment's existing side files are linked in (copied where links cannot be made), so
they are read from their folder until inkloop writes its own: every write replaces its file
atomically, which replaces the link, never the read-only file it points to. Once made, the
folder stays the segment's, so work kept there is found even when the share becomes
writable. Its name comes from the segment's path: a folder of its own made for another path
of the same data (another mount point or drive letter) is known by its record (`ORIGIN`: the
layers' number, and the first's name, size and time of writing), and its work moved in once
the data has left that path."""

from __future__ import annotations

import errno
import hashlib
import json
import logging
import os
import re
import tempfile
from pathlib import Path

from inkloop._notify import notify
from inkloop.io._errors import SegmentError
from inkloop.io._homes import data_home, in_use, move_work, stayed_note
from inkloop.io._images import image_info
from inkloop.io._layers import numbered_layers
from inkloop.io._side_links import SIDE_IMAGE_SUFFIXES, is_side_file, link_side_files
from inkloop.io._write import atomic_path

log = logging.getLogger(__name__)

OWN_FOLDERS = "read-only"  # under the data folder: one folder per segment
# the folders this process has named, in the environment: a napari session opens a segment
# several times, and the engine that the dock spawns opens it again
TOLD_ENV = "INKLOOP_OWN_FOLDERS_TOLD"
ORIGIN = ".inkloop-origin.json"  # in an own folder: the path and data it was made for
_READ_ONLY_ERRORS = {errno.EROFS, errno.EACCES, errno.EPERM}
_DIGEST = re.compile("[0-9a-f]{10}")  # of `own_side_folder`'s names
_MTIME_SLACK_S = 2  # FAT keeps times to 2 s; shares may round them


def writable_side_folder(folder: Path, name: str, *, plain: bool = False) -> Path:
    """Where a local segment ``name`` whose side files are in ``folder`` keeps them: ``folder``
    itself if it can be written and the segment has no folder of its own yet, else that
    folder (`own_side_folder`), made and given links to ``folder``'s side files of ``name``
    (and, if ``plain``, to its unnumbered images: ``mask.png``); a notice says where. A new
    one takes in the work of the folder made for the segment at another path, if any."""
    own, writable = own_side_folder(folder, name), is_writable(folder)
    if writable and not own.is_dir():
        return folder
    new = not own.is_dir()
    try:
        own.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        _tell_once(own, f"{folder} is read-only, and {own} cannot be made ({error})")
        return folder
    facts = _data_facts(folder, name, plain)
    found = _adopt_earlier_own_folder(folder, name, own, plain, facts) if new else ""
    _record_origin(own, folder, name, facts)
    link_side_files(folder, own, name, plain)
    said = f"{name}'s labels, model and rounds are kept in {own}"
    if writable:
        said = f"{said} (made when {folder} could not be written)"
    else:
        said = f"{folder} is read-only: {said}"
    _tell_once(own, said + found)
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
    """Whether inkloop may make files in ``folder``: not where no one has its write bit (the
    owner's `chmod a-w`, which root, as in most containers, writes through), else by trying
    (os.access is wrong for root and on some network shares). Errors other than a refusal
    leave it to the write to say."""
    try:
        # POSIX only: Windows marks customised folders read-only, and writes into them
        if os.name == "posix" and not folder.stat().st_mode & 0o222:
            return False
        with tempfile.TemporaryFile(dir=folder):
            return True
    except OSError as error:
        return error.errno not in _READ_ONLY_ERRORS


def _adopt_earlier_own_folder(folder: Path, name: str, own: Path, plain: bool, facts) -> str:
    """Move into ``own``, new, the work of the folder made for segment ``name`` of ``folder``
    at a path it has `_left`: the newest whose `ORIGIN` matches its data ``facts``, else the
    one without (an earlier version's) holding its side files at its size. Returns what the
    notice adds: where the work came from, and other folders of that name."""
    earlier = _other_own_folders(own, name)
    records = {f: _read_origin(f) for f in earlier if not in_use(f)}  # else open elsewhere
    records = {f: record for f, record in records.items() if _left(f, record, name, plain)}
    matches = [f for f, record in records.items() if record and _same_data(record, facts)]
    matches.sort(key=_last_written, reverse=True)
    unrecorded = [f for f, record in records.items() if record is None]
    chosen = why = None
    if matches:
        chosen, why = matches[0], f"made for {records[matches[0]].get('folder')}: the same layers"
    elif len(unrecorded) == 1 and _holds_its_side_files(unrecorded[0], folder, name, plain):
        chosen, why = unrecorded[0], "made by an earlier version, with no record of the path: "
        why += f"the only such folder for a segment named {name}, at its size"
    said = ""
    if chosen is not None:
        try:
            stayed = move_work(_own_work(chosen), chosen, own)
            _remove_if_spent(chosen)
            said = f"; its work moved there from {chosen} ({why})"
            said += stayed_note(stayed, chosen, own)
        except OSError as error:
            said = f"; its work in {chosen} ({why}) could not all be moved there ({error})"
    others = [str(f) for f in earlier if f != chosen]
    if others:
        said += f"; other work for segments named {name} is in {', '.join(others)}: if it is "
        said += f"this one's, from another path, move it into {own}"
    return said


def _left(earlier: Path, record: dict | None, name: str, plain: bool) -> bool:
    """Whether the segment ``earlier`` was made for has left its path (a new mount point or
    drive letter); else ``earlier`` is another's, or in use at that path too: it stays."""
    if record is None:  # an earlier version's: its links lead to the share while it is there
        return not any(link.exists() for link in earlier.iterdir() if link.is_symlink())
    made_for = record.get("folder")
    if not isinstance(made_for, str):
        return False
    return not Path(made_for).is_dir() or _data_facts(Path(made_for), name, plain) is None


def _other_own_folders(own: Path, name: str) -> list[Path]:
    """inkloop's folders for segments named ``name`` at other paths than ``own``'s, with
    work in them."""
    prefix = f"{name}-"
    return sorted(
        folder
        for folder in own.parent.iterdir()
        if folder != own
        and folder.name.startswith(prefix)
        and _DIGEST.fullmatch(folder.name[len(prefix) :])
        and folder.is_dir()
        and _own_work(folder)
    )


def _own_work(own: Path) -> list[Path]:
    """What inkloop wrote in ``own``: not its links to the segment's side files, nor its
    hidden files (locks, `ORIGIN`)."""
    return [e for e in own.iterdir() if not e.name.startswith(".") and not e.is_symlink()]


def _remove_if_spent(own: Path) -> None:
    """Remove ``own`` once its work has moved and nothing is left in it but links, its
    `ORIGIN` and lock files no process holds (`in_use` said so); else it stays, found again
    with no work to move."""
    if _own_work(own):
        return
    try:
        for entry in own.iterdir():
            if entry.is_symlink() or entry.name == ORIGIN or entry.name.endswith(".lock"):
                entry.unlink()
        own.rmdir()
    except OSError as error:  # a writer's part file, a lock Windows keeps open
        log.info("%s stays: %s", own, error)


def _last_written(own: Path) -> float:
    """When inkloop last wrote in ``own``, which has work in it."""
    return max(entry.stat().st_mtime for entry in _own_work(own))


def _data_facts(folder: Path, name: str, plain: bool) -> list | None:
    """What tells segment ``name``'s data in ``folder`` from others' wherever the folder is
    mounted, without reading it: the number of its layers (of a layer folder's, or a
    store's entries; 1 for a stack), the first's name, size and time of writing. None
    where there are none, or they cannot be listed."""
    from inkloop.io._layer_folders import layer_folder  # which imports this module

    try:
        if plain:
            layers = layer_folder(folder) or folder
            files = [p for _, p in numbered_layers(layers) if not is_side_file(p, name, plain)]
            return [_first_and_count(files, folder)] if files else None
        ours = (e for e in sorted(folder.iterdir()) if e.name.startswith(f"{name}."))
        entries = [folder / name, *ours] if (folder / name).exists() else list(ours)
        inside = [sorted(e.iterdir()) if e.is_dir() else [e] for e in entries]  # a store
        return [_first_and_count(files, folder) for files in inside if files] or None
    except OSError as error:
        log.warning("the layers of %s in %s cannot be listed: %s", name, folder, error)
        return None


def _first_and_count(paths: list[Path], folder: Path) -> list:
    """The first file of ``paths`` (name from ``folder``, size, time of writing) and their
    number."""
    first = next((path for path in paths if path.is_file()), paths[0])
    stat = first.stat()
    return [first.relative_to(folder).as_posix(), len(paths), stat.st_size, stat.st_mtime]


def _same_data(record: dict, facts: list | None) -> bool:
    """Whether an `ORIGIN` record's data are ``facts`` (times to within the slack)."""
    recorded = record.get("data")
    if not facts or not isinstance(recorded, list) or len(recorded) != len(facts):
        return False
    return all(
        isinstance(old, list) and old[:3] == new[:3] and abs(old[3] - new[3]) <= _MTIME_SLACK_S
        for old, new in zip(recorded, facts, strict=True)
    )


def _read_origin(own: Path) -> dict | None:
    """``own``'s `ORIGIN` record; None where it has none (an earlier version's) or it cannot
    be read (said in the log)."""
    path = own / ORIGIN
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as error:
        log.warning("%s cannot be read: %s", path, error)
        return None
    return record if isinstance(record, dict) else None


def _record_origin(own: Path, folder: Path, name: str, facts: list | None) -> None:
    """Record in ``own`` the path and data (``facts``) it is ``name``'s folder for, unless
    it has that record; a record that cannot be written is logged (the folder works
    without it, but would not be found from another path)."""
    record = {"folder": str(folder), "name": name, "data": facts}
    if facts is None or _read_origin(own) == json.loads(json.dumps(record)):
        return
    try:
        with atomic_path(own / ORIGIN, durable=False) as part:
            Path(part).write_text(json.dumps(record, indent=1), encoding="utf-8")
    except OSError as error:
        log.warning("%s cannot be written: %s", own / ORIGIN, error)


def _holds_its_side_files(own: Path, folder: Path, name: str, plain: bool) -> bool:
    """Whether ``own`` holds side files (links, copies) of the names segment ``name`` has in
    ``folder``, and images of its size: an earlier version's folder of its own for it."""
    side_files = [entry for entry in folder.iterdir() if is_side_file(entry, name, plain)]
    held = list(own.iterdir())
    if not {entry.name for entry in side_files} & {entry.name for entry in held}:
        return False
    return bool(_image_sizes(side_files) & _image_sizes(held))


def _image_sizes(paths: list[Path]) -> set[tuple[int, int]]:
    """The sizes of the images among ``paths`` that can be read (a link may lead nowhere)."""
    sizes = set()
    for path in paths:
        if path.suffix.lower() in SIDE_IMAGE_SUFFIXES and not path.name.startswith("."):
            try:
                sizes.add(image_info(path).shape)
            except (SegmentError, OSError):
                continue
    return sizes
