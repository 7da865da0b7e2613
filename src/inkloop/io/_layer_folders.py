"""A segment folder's layer folder (``layers/``, Kaggle's ``surface_volume/``; in any letter
case, as a Mac or Windows disk names them), and what a folder without one needs: its stack or
zarr opened, a VC3D surface's layers rendered, a data server's downloaded."""

from __future__ import annotations

import json
from pathlib import Path

from inkloop._command import shell_quoted
from inkloop.io._letter_case import spelled_as_found
from inkloop.io._side_lookup import has_surface_grid
from inkloop.io._sidefiles import SERVER_FILE_ENDINGS, is_prediction_file, segment_id
from inkloop.io._tiff_stack import is_tiff_stack, open_tiff_stack

LAYER_FOLDERS = {"layers": "vesuvius", "surface_volume": "kaggle"}


def layer_folder(path: Path) -> Path | None:
    """The layer folder in the segment folder ``path`` (``layers/`` before ``surface_volume/``,
    each under its own spelling: ``LAYERS/``), or None."""
    return spelled_as_found(path, LAYER_FOLDERS, Path.is_dir)


def layer_folder_format(folder: Path) -> str | None:
    """The layout ("vesuvius", "kaggle") whose layer folder ``folder`` is named as, or None."""
    return LAYER_FOLDERS.get(folder.name.lower())


def no_layer_folder(path: Path) -> str:
    """Why a segment folder without ``layers/`` opens nothing, and the fix: open the stack or
    zarr it holds, render a VC3D surface's layers from its x/y/z.tif, or download a data
    server's (where it holds the server's files, as well)."""
    name, layers = segment_id(path), shell_quoted(path / "layers")
    stack = spelled_as_found(path, [f"{name}.tif"])
    if stack is not None and is_tiff_stack(stack):
        count = open_tiff_stack(stack)[1].shape[0]  # opened as a file, like any stack
        return f"{path}: open {stack} (a stack of {count} layers): the folder holds no layer images"
    if (volume := _layer_zarr(path, name)) is not None:
        return f"{path}: open {volume} (a zarr of the layers): the folder holds no layer images"
    files = ", ".join(server_files(path, name))
    download = (
        f'wget -r -np -nd -R "index.html*" -P {layers} SEGMENT_URL/layers/ (SEGMENT_URL: the '
        "server folder these files came from)"
    )
    if not has_surface_grid(path):  # rendering needs them: a server's copy without is fetched
        return (
            f"{path}: no layers/ folder: this holds the data server's files of segment {name} "
            f"({files}) but not its layers; download them into it: {download}"
        )
    # no --flip-normals: some builds of vc_render_tifxyz lack it, and VC3D's Render segment
    # does not pass it; either way the order follows how the surface was traced
    render = (
        f"{path}: no layers/ folder: this VC3D surface (tifxyz) has no rendered layers yet; "
        f"render them into {layers} with VC3D's Render segment, or: vc_render_tifxyz "
        "--volume VOLUME.zarr --group-idx 0 --scale 1 --num-slices 65 --segmentation "
        f"{shell_quoted(path)} --tif-output {layers} (VOLUME.zarr: the scroll volume it was "
        "traced in; either way, their order follows how the surface was traced: if `inkloop "
        "check --model M` then says the layers look reversed, --reverse reads them the other way)"
    )
    if files == "meta.json":  # VC3D's own folder
        return render
    return f"{render}; or, if it came from a data server with its files ({files}): {download}"


def server_files(folder: Path, name: str) -> list[str]:
    """The data server's files of segment ``name`` in ``folder`` (as spelled there); meta.json
    alone if a segment's."""
    named = (spelled_as_found(folder, [f"{name}{end}"]) for end in (".tif", *SERVER_FILE_ENDINGS))
    named = [path.name for path in named if path is not None]
    meta = folder / "meta.json"
    return ["meta.json", *named] if meta.is_file() and (named or _is_segment_meta(meta)) else named


def _layer_zarr(folder: Path, name: str) -> Path | None:
    """The zarr in ``folder`` that holds segment ``name``'s layers: ``<name>.zarr`` (or
    ``.ome.zarr``), else the one zarr there that is no prediction; None if none is."""
    named = spelled_as_found(folder, [f"{name}.zarr", f"{name}.ome.zarr"], Path.is_dir)
    if named is not None:
        return named
    zarrs = [entry for entry in folder.iterdir() if entry.name.lower().endswith(".zarr")]
    volumes = [entry for entry in zarrs if entry.is_dir() and not is_prediction_file(entry)]
    return volumes[0] if len(volumes) == 1 else None


def _is_segment_meta(path: Path) -> bool:
    """Whether ``path`` is a segment's meta.json: the data server's, or a VC3D surface's."""
    try:
        meta = json.loads(path.read_text())
        return meta.get("type") == "seg" or meta.get("format") == "tifxyz"
    except (OSError, ValueError, AttributeError):  # unreadable, not JSON, not an object
        return False
