"""Which of a folder's files are a segment's side files (its mask, labels, model: not its
layers, nor predictions), and links to them from inkloop's own folder for the segment
(`inkloop.io._writable`)."""

from __future__ import annotations

import shutil
from pathlib import Path

from inkloop.io._layers import layer_number
from inkloop.io._sidefiles import prediction_stem

SIDE_IMAGE_SUFFIXES = (".png", ".tif", ".tiff")


def link_side_files(folder: Path, own: Path, name: str, plain: bool) -> None:
    """Link ``folder``'s side files of ``name`` into ``own`` where ``own`` has none of that
    name (a link, or a file inkloop wrote); predictions (folders, some) are left out."""
    for entry in folder.iterdir():
        target = own / entry.name
        if target.is_symlink() or target.exists() or not is_side_file(entry, name, plain):
            continue
        try:
            target.symlink_to(entry)
        except OSError:  # Windows without the right to make links
            shutil.copyfile(entry, target)


def is_side_file(entry: Path, name: str, plain: bool) -> bool:
    """Whether ``entry`` is one of segment ``name``'s side files, predictions aside."""
    hidden = entry.name.startswith(".")  # a writer's temporary file, a lock
    if hidden or not entry.is_file() or prediction_stem(entry).endswith("_prediction"):
        return False
    if entry.name.startswith(f"{name}_"):  # not a TIFF: a_b.tif is another segment's stack
        return entry.suffix.lower() not in (".tif", ".tiff")
    image = entry.suffix.lower() in SIDE_IMAGE_SUFFIXES
    return plain and image and layer_number(entry.name) is None  # mask.png, not a layer
