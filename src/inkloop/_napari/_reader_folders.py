"""Which folders of numbered images the reader takes as segments: napari offers it every
folder (the manifest accepts directories), and a folder of images is not a segment by itself."""

from __future__ import annotations

import re
from pathlib import Path

from inkloop.io._layer_folders import layer_folder_format, server_files
from inkloop.io._side_kinds import side_kinds_pattern
from inkloop.io._side_lookup import find_side_files
from inkloop.io._sidefiles import segment_id


def is_segment_layers(folder: Path) -> bool:
    """Whether a plain folder of numbered images holds a segment's layers: it is named as a
    layer folder (``layers/``, opened as its segment), or it holds the segment's files, in
    any letter case: the data server's (mask, mesh, texture), the side files an opening reads
    (`find_side_files`: a Kaggle fragment's ``mask.png`` and ``inklabels.png`` too), or any
    other of its side files (`SIDE_KINDS`: inkloop's model, rounds, autosaved labels…)."""
    if layer_folder_format(folder) is not None:
        return True
    name = segment_id(folder)
    if server_files(folder, name) or find_side_files(folder, name, plain=True):
        return True
    side_file = re.compile(rf"{re.escape(name)}_(?:{side_kinds_pattern()})", re.IGNORECASE)
    return any(side_file.fullmatch(entry.name) for entry in folder.iterdir())


def refuse_images(path: str | list[str]):
    """The reader of a folder of images that is no segment (`is_segment_layers`), picked in
    napari's dialog all the same (it offers every reader of folders): why not, and what opens
    it, as napari's error."""
    folder = path[0] if isinstance(path, list) else path
    raise ValueError(
        f"{folder}: a folder of images with nothing of a segment beside them (no layers/ "
        "folder, no <id>_mask.png or mask.png, no ink labels or mesh): open it as a segment "
        "with Plugins → Ink Loop → Open segment…, or pick napari builtins to see the images"
    )
