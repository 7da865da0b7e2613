"""What an output may replace: never what the run reads, whatever --overwrite says; a file
that exists only when asked; a folder only when it is a prediction (replacing removes it
whole). And the folder outputs go to, made or refused in one line."""

from __future__ import annotations

import errno
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path

from inkloop.io import is_prediction_file, label_paths, prediction_kind, rounds_path
from inkloop.io._layer_folders import LAYER_FOLDERS, layer_folder
from inkloop.io._layers import layer_number

_SIDE_FILES = {"mask": "the mask", "ink_labels": "the ink labels", "supervision": "the supervision"}
_VOLUMES = {
    "tiff-stack": "the TIFF stack",
    "zarr": "the zarr",
    "ome-zarr": "the zarr",
    "folder": "the layer folder",
}


def check_out(
    out: Path, segments=(), inputs: dict | None = None, *, overwrite: bool, way_on: str = ""
) -> None:
    """`refuse_inputs` and `refuse_folder`; then ValueError if ``out`` exists, unless
    ``overwrite``: a typo in a path must not cost the file that was there."""
    refuse_inputs(out, segments, inputs)
    refuse_folder(out)
    refuse_existing(out, overwrite=overwrite, way_on=way_on)


def refuse_existing(out: Path, *, overwrite: bool, way_on: str = "") -> None:
    """ValueError if ``out`` exists, unless ``overwrite``; ``way_on``: another way on than
    replacing it, said first ("…, or ")."""
    if out.exists() and not overwrite:
        raise ValueError(
            f"{out} exists; {way_on}pass --overwrite (overwrite=True in Python) to replace it"
        )


def refuse_inputs(outs, segments=(), inputs: dict | None = None) -> None:
    """ValueError naming what is there if writing ``outs`` (one path, or a batch's outputs:
    each is checked against every segment) would replace or remove what the run reads: the
    layers of one of ``segments`` (nothing may go inside their folder or zarr) or its side
    files (mask, ink labels, supervision, rounds), or a file given as an option (``inputs``:
    option -> path or None). The ``--init`` checkpoint may be an output itself: training
    continues in place."""
    outs = [Path(out).expanduser() for out in ([outs] if isinstance(outs, str | Path) else outs)]
    # a link named as an output is replaced, not its target
    heres = [out.parent.resolve() / out.name for out in outs]
    read = []
    for option, given in (inputs or {}).items():
        path = given and Path(given).expanduser().resolve()
        if path and not (option == "--init" and path in heres):
            read.append((path, f"the {option} file", _nothing))
    read = _Reads(read + [found for segment in segments for found in _segment_files(segment)])
    for out, here in zip(outs, heres, strict=True):
        touched = read.touched_by(here)
        if touched is not None:
            raise ValueError(
                f"{out} {touched}; write the output elsewhere (overwriting never replaces "
                "what the run reads)"
            )


class _Reads:
    """The files a run reads (path, what it is, whether a path under it, relative, is read),
    indexed: a batch checks each output against every segment's files, and a few look-ups
    per output keep that linear in the segments (a pass over all of them per output took
    10 s for 300 segments)."""

    def __init__(self, read: list[tuple[Path, str, Callable[[Path], bool]]]):
        self.read = read
        self.at, self.under, self.inode = defaultdict(list), defaultdict(list), defaultdict(list)
        for number, (path, _what, _reads_inside) in enumerate(read):
            self.at[path].append(number)
            for folder in (path, *path.parents):
                self.under[folder].append(number)
            if (inode := _inode(path)) is not None:
                self.inode[inode].append(number)

    def touched_by(self, here: Path) -> str | None:
        """'is|holds|lies in WHAT' for the first read file that writing ``here`` would
        replace, remove or add to, else None."""
        found = {}
        for number in self.under.get(here, []) + self.inode.get(_inode(here), []):
            path, what, _ = self.read[number]
            holds = path != here and path.is_relative_to(here)
            found[number] = f"{'holds' if holds else 'is'} {what}"
        for folder in here.parents:
            for number in self.at.get(folder, []):
                _, what, reads_inside = self.read[number]
                if reads_inside(here.relative_to(folder)):
                    found.setdefault(number, f"lies in {what}")
        return found[min(found)] if found else None


def refuse_folder(out: Path) -> None:
    """ValueError if ``out`` is a folder other than a prediction of the format its name asks
    for: writing the output removes what is there, a folder whole (a CT volume.zarr, say)."""
    if not out.is_dir():
        return
    if prediction_kind(out) not in ("zarr", "ome.zarr"):
        raise ValueError(f"{out}: is a folder; give a file name")
    if not is_prediction_file(out):
        raise ValueError(
            f"{out}: is a folder but not a prediction from inkloop predict, so it is never "
            "replaced; choose another name"
        )


def make_out_folder(folder: Path, option: str = "") -> None:
    """Make ``folder`` (and its parents) for outputs; ValueError naming ``option`` (if any)
    and the folder where it is a file or cannot be made (a read-only disk, a parent that is
    a file, say)."""
    where = f"{option} {folder}".lstrip()
    if folder.exists() and not folder.is_dir():
        raise ValueError(f"{where}: is a file; give a folder")
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        why = error.strerror
        if error.errno == errno.ENOTDIR:  # a parent is a file: say which
            why = next((f"{p} is a file" for p in folder.parents if p.is_file()), why)
        raise ValueError(f"{where}: cannot make the folder ({why})") from None


def _segment_files(segment) -> list[tuple[Path, str, Callable[[Path], bool]]]:
    """(path, what it is, whether a path under it, relative, would be read) of each file
    ``segment`` reads or keeps: its labels where it saves them, even before they exist."""
    of = f"of segment {segment.name}"
    ink, supervision = label_paths(segment)
    autosaved = label_paths(segment, autosave=True)
    files = {ink: "the ink labels", supervision: "the supervision"}
    files |= {autosaved[0]: "the autosaved ink labels", autosaved[1]: "the autosaved supervision"}
    files |= {rounds_path(segment): "the rounds record"}
    files |= {path: _SIDE_FILES.get(key, "a side file") for key, path in segment.files.items()}
    found = [(path.resolve(), f"{what} {of}", _nothing) for path, what in files.items()]
    if isinstance(segment.path, Path):  # not a URL
        where = segment.path.resolve()
        found.append(
            (where, f"{_VOLUMES.get(segment.format, 'the folder')} {of}", _inside(segment))
        )
        layers = layer_folder(where) if segment.format in LAYER_FOLDERS.values() else None
        found += [(layers, f"the layer folder {of}", _everything)] if layers else []
    return found


def _inside(segment) -> Callable[[Path], bool]:
    """What under the segment's path it reads: nothing under the folder of a layered segment
    (its layer folder is checked on its own), a numbered image in a plain folder of layers
    (which keeps the side files, and may keep outputs, beside them), all of a zarr."""
    if segment.format in LAYER_FOLDERS.values():
        return _nothing
    if segment.format == "folder":
        return lambda under: len(under.parts) == 1 and layer_number(under.name) is not None
    return _everything


def _inode(path: Path) -> tuple[int, int] | None:
    """What names one file however the path is written (by case on a case-insensitive disk,
    macOS's or Windows'; through a hard link), or None where nothing is there (yet)."""
    try:
        found = path.stat()
    except OSError:
        return None
    return found.st_dev, found.st_ino


def _nothing(under: Path) -> bool:
    return False


def _everything(under: Path) -> bool:
    return True
