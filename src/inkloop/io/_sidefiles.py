"""Where a segment's side files go, and the formats a prediction file may take.

Beside the segment's mask (its ``sidecar_folder``), named after its id as the scroll
community names them: ``<id>_inklabels.png`` and ``<id>_supervision_mask.png`` (and their
``.autosave`` copies), ``<id>_prediction.<png|tif|zarr>``, ``<id>_inkloop_model.pt`` and
``<id>_rounds.jsonl``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

AUTOSAVE = ".autosave"
# a prediction's formats, as `prediction_path` takes them -> as a person reads them
PREDICTION_FORMATS = {"png": "PNG", "tif": "TIFF", "zarr": "zarr"}
PREDICTION_SUFFIXES = (".png", ".tif", ".tiff", ".zarr")


def side_folder(segment) -> Path:
    """The folder of ``segment``'s mask and side files."""
    return segment.sidecar_folder or Path(segment.path).parent


def label_paths(segment, *, autosave: bool = False) -> tuple[Path, Path]:
    """Where ``segment``'s ink labels and supervision mask are saved (beside its mask)."""
    ink_path = side_folder(segment) / f"{segment.name}_inklabels{AUTOSAVE if autosave else ''}.png"
    return ink_path, supervision_path_for(ink_path)


def supervision_path_for(ink_path: str | Path) -> Path:
    """The supervision mask that goes with an ink label file (``x_inklabels.png`` ->
    ``x_supervision_mask.png``, any other ``name.png`` -> ``name_supervision_mask.png``;
    autosave copies keep their tag)."""
    ink_path = Path(ink_path)
    stem = ink_path.stem.removesuffix(AUTOSAVE)
    tag = ink_path.stem[len(stem) :]
    return ink_path.with_name(f"{stem.removesuffix('_inklabels')}_supervision_mask{tag}.png")


def checkpoint_path(segment) -> Path:
    """Where the dock keeps ``segment``'s model (autosaved while training, loaded on return)."""
    return side_folder(segment) / f"{segment.name}_inkloop_model.pt"


def rounds_path(segment) -> Path:
    """Where ``segment``'s rounds of labelling and training are recorded (`inkloop.rounds`)."""
    return side_folder(segment) / f"{segment.name}_rounds.jsonl"


def prediction_path(segment, fmt: str = "png") -> Path:
    """Where ``segment``'s whole prediction goes by default, in format ``fmt``."""
    return side_folder(segment) / f"{segment.name}_prediction.{_format(fmt)}"


def prediction_output(out: str | Path, fmt: str | None = None) -> Path:
    """``out`` as a prediction file (with the suffix of ``fmt``, if given); ValueError now
    if it is of another kind or cannot be written."""
    from inkloop.io._write import check_writable

    out = Path(out).expanduser()
    if fmt is not None:
        out = out.with_suffix(f".{_format(fmt)}")
    if out.suffix.lower() not in PREDICTION_SUFFIXES:
        raise ValueError(f"{out}: the output must end in .png, .tif, .tiff or .zarr")
    check_writable(out)
    return out


def read_prediction(path: str | Path) -> np.ndarray:
    """A prediction file as float32 0..1: PNG/TIFF uint8 (/255) or float, or a zarr array."""
    path = Path(path).expanduser()
    if not path.exists():
        raise FileNotFoundError(f"{path}: no such prediction")
    if path.suffix.lower() == ".zarr":
        import zarr

        values = np.asarray(zarr.open_array(str(path), mode="r")[:])
    else:
        from inkloop.io._images import read_image

        values = read_image(path, grey=True)
    if values.dtype == np.uint8:
        return values.astype(np.float32) / 255
    return values.astype(np.float32)


def _format(fmt: str) -> str:
    if fmt not in PREDICTION_FORMATS:
        choices = ", ".join(PREDICTION_FORMATS)
        raise ValueError(f"unknown prediction format {fmt!r}; choose one of {choices}")
    return fmt
