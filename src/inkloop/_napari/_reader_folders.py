"""Which folders of numbered images the reader takes as segments: napari offers it every
folder (the manifest accepts directories), and a folder of images is not a segment by itself."""

from __future__ import annotations

from pathlib import Path

from inkloop.io import checkpoint_path, rounds_path
from inkloop.io._layer_folders import layer_folder_format, server_files
from inkloop.io._sidefiles import segment_id, segment_named


def is_segment_layers(folder: Path) -> bool:
    """Whether a plain folder of numbered images holds a segment's layers: it is named as a
    layer folder (``layers/``, opened as its segment), or it holds the segment's files, in
    any letter case: the data server's (mask, mesh, texture), its ink labels (any version,
    autosaved copies), inkloop's model or rounds."""
    if layer_folder_format(folder) is not None:
        return True
    name = segment_id(folder)
    if server_files(folder, name):
        return True
    own = segment_named(name, folder)
    names = {entry.name.lower() for entry in folder.iterdir()}
    work = {checkpoint_path(own).name.lower(), rounds_path(own).name.lower()}
    labels = f"{name.lower()}_inklabels"
    return bool(names & work) or any(entry.startswith(labels) for entry in names)
