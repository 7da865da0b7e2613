"""Where a segment's side files go, and the formats a prediction file may take.

Beside the segment's mask (its ``sidecar_folder``), named after its id as the scroll
community names them: ``<id>_inklabels[_vN].png`` and ``<id>_supervision_mask[_vN].png`` (and
their ``.autosave`` copies), ``<id>_prediction.<png|tif|zarr>``, ``<id>_inkloop_model.pt``,
``<id>_rounds.jsonl`` and ``<id>_validation_region.json`` (`inkloop.io._validation`); the
list of those kinds, and what is said of them under another id, in `inkloop.io._side_kinds`.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from types import SimpleNamespace

import numpy as np

from inkloop.io._label_images import probabilities
from inkloop.io._layers import layer_number
from inkloop.io._lazy import lazy
from inkloop.io._letter_case import as_spelled
from inkloop.io._side_kinds import stray_side_files_hint as stray_side_files_hint
from inkloop.io._side_lookup import (
    AUTOSAVE,
    ink_labels_name,
    is_ink_labels_of,
    supervision_path_for,
)

# a prediction's formats, as `prediction_path` takes them -> as a person reads them
PREDICTION_FORMATS = {
    "ome.zarr": "OME-Zarr pyramid",
    "png": "PNG",
    "tif": "TIFF (tiled)",
    "zarr": "zarr (float32)",
}
DEFAULT_PREDICTION_FORMAT = "ome.zarr"  # of the files written into an --out-dir
PREDICTION_CHUNKS = (1024, 1024)  # of a TIFF prediction read lazily by window
WHOLE_STRIPS_BYTES = 256 << 20  # a TIFF prediction in strips declaring less is read whole
ORIGIN_KEY = "inkloop_origin"  # (y, x) of a region's prediction in its segment, where recorded
# the files a data server names for a segment's id beside its layers (and its texture <id>.tif)
SERVER_FILE_ENDINGS = ("_mask.png", "_flat_mask.png", ".obj", ".ppm")
_ID_FILE_ENDINGS = (*SERVER_FILE_ENDINGS, "_inklabels.png")
# file endings -> format; the longest ending that fits wins (x.ome.zarr is not a plain zarr)
_KINDS = {".ome.zarr": "ome.zarr", ".png": "png", ".tif": "tif", ".tiff": "tif", ".zarr": "zarr"}


def side_folder(segment) -> Path:
    """The folder of ``segment``'s mask and side files."""
    return segment.sidecar_folder or Path(segment.path).parent


def segment_id(folder: Path) -> str:
    """The id a segment folder's side files are named for (``<id>_mask.png``, ``<id>.obj``,
    inkloop's own): its name, unless none is named so and they carry the id that the data
    server's own folder names keep (``<id>_superseded``, Thaumato's ``working_<id>``) or that
    of a numbered image among a flattened download's layers (``wget -nd``: ``<id>.tif``).
    Only work under its name (labels, model, rounds) keeps it; a prediction can be remade.
    Names match in any letter case (``<id>_mask.PNG``), as on a Mac's or Windows' disk."""
    entries = [entry.name for entry in folder.iterdir()]
    names = {name.lower() for name in entries}
    own = segment_named(folder.name, folder)  # inkloop's files, named below
    kept = [*label_paths(own), *label_paths(own, autosave=True), checkpoint_path(own)]
    if any(path.name.lower() in names for path in (*kept, rounds_path(own))):
        return folder.name
    base = folder.name.removesuffix("_superseded").removeprefix("working_")
    numbered = sorted(Path(name).stem for name in entries if layer_number(name) is not None)
    # the server names a Thaumato folder working_<id>_1 of Scroll 1 for <id>
    for candidate in (folder.name, base, base.removesuffix("_1"), *numbered):
        if any(f"{candidate}{ending}".lower() in names for ending in _ID_FILE_ENDINGS):
            return candidate
    return folder.name


def segment_named(segment_id: str, folder: str | Path) -> SimpleNamespace:
    """What the functions below name side files for, where no segment is opened: that of
    ``segment_id``, its side files in ``folder``."""
    return SimpleNamespace(name=segment_id, sidecar_folder=Path(folder))


def mask_path(segment) -> Path:
    """Where ``segment``'s papyrus mask goes: ``<id>_mask.png`` beside its other side files
    (spelled as a file of that name in another letter case there is: `as_spelled`)."""
    return as_spelled(side_folder(segment) / f"{segment.name}_mask.png")


def label_paths(segment, *, autosave: bool = False) -> tuple[Path, Path]:
    """Where ``segment``'s ink labels and supervision mask are saved (beside its mask):
    ``<id>_inklabels.png``, or the name of the version of them it opened (``<id>_inklabels_vN``,
    `ink_labels_name`), so that the next open reads what was saved (`save_labels` first keeps
    one inkloop did not mark as a ``.saved-`` copy); each spelled as the file there whose
    name differs in letter case alone (`as_spelled`: ``<id>_inklabels.PNG``), so that a save
    replaces it instead of making its twin, which a Mac or Windows disk cannot hold.
    ``segment``: a Segment, or its path or URL."""
    from inkloop.io._segment import as_segment  # here: it imports this module (via _sources)

    segment = as_segment(segment)
    opened = Path(getattr(segment, "files", {}).get("ink_labels", "")).stem
    stem = opened if is_ink_labels_of(opened, segment.name) else f"{segment.name}_inklabels"
    ink_path = as_spelled(side_folder(segment) / f"{stem}{AUTOSAVE if autosave else ''}.png")
    return ink_path, supervision_path_for(ink_path)


def checkpoint_path(segment) -> Path:
    """Where the dock keeps ``segment``'s model (autosaved while training, continued from
    when the segment is opened again)."""
    return side_folder(segment) / f"{segment.name}_inkloop_model.pt"


def rounds_path(segment) -> Path:
    """Where ``segment``'s rounds of labelling and training are recorded (`inkloop.rounds`)."""
    return rounds_path_for(label_paths(segment)[0])


def rounds_path_for(ink_path: str | Path) -> Path:
    """The rounds file that goes with an ink label file, beside it (``x_inklabels[_vN].png`` ->
    ``x_rounds.jsonl``, every version's; a plain ``inklabels.png``, a Kaggle fragment's, ->
    its segment's ``<id>_rounds.jsonl``, the dock's; any other ``name.png`` or
    ``name.ome.zarr`` -> ``name_rounds.jsonl``; an autosave copy's rounds are those of the
    labels it stands for)."""
    ink_path = Path(ink_path)
    stem = prediction_stem(ink_path).removesuffix(AUTOSAVE)
    owner = (ink_labels_name(stem) or (stem,))[0]
    if owner is None and ink_path.parent.is_dir():
        owner = segment_id(ink_path.parent)
    return ink_path.with_name(f"{owner or stem}_rounds.jsonl")


def prediction_path(segment, fmt: str = "png") -> Path:
    """Where ``segment``'s whole prediction goes by default, in format ``fmt``."""
    return side_folder(segment) / prediction_name(segment.name, fmt)


def prediction_name(segment_id: str, fmt: str = "png") -> str:
    """The file name of a segment's whole prediction in format ``fmt``."""
    return f"{segment_id}_prediction.{_format(fmt)}"


def prediction_kind(path: str | Path) -> str | None:
    """The prediction format a file name asks for (a key of PREDICTION_FORMATS), or None."""
    name = Path(path).name.lower()
    endings = [e for e in _KINDS if name.endswith(e) and len(name) > len(e)]
    return _KINDS[max(endings, key=len)] if endings else None


def prediction_stem(path: str | Path) -> str:
    """A file's name without the ending of its prediction format (``x.ome.zarr`` -> ``x``),
    or without its suffix."""
    path = Path(path)
    kind = prediction_kind(path)
    return path.name[: -len(_ending(path, kind))] if kind else path.stem


def is_prediction_file(path: str | Path) -> bool:
    """Whether ``path`` is a prediction as `inkloop predict` writes them, from its name and
    metadata alone: a 2D OME-Zarr pyramid, a 2D zarr array whose attributes record
    ORIGIN_KEY (inkloop writes it into every one since 2026-12-05) or that is named
    ``<id>_prediction.zarr`` (as before), or ``<id>_prediction.<png|tif>``. Another 2-D zarr
    is someone's image, never shown as a prediction nor replaced by one."""
    path = Path(path)
    named = prediction_stem(path).endswith("_prediction")
    if path.is_dir():
        if is_prediction_pyramid(path):
            return True
        from inkloop.io._prediction_metadata import zarr_array_metadata

        dimensions, attributes = zarr_array_metadata(path)
        marked = named or ORIGIN_KEY in attributes
        return prediction_kind(path) == "zarr" and dimensions == 2 and marked
    return named and prediction_kind(path) in ("png", "tif") and path.is_file()


def kept_copy_path(path: str | Path) -> Path:
    """Where the file at ``path`` is kept when a new one takes its name (a model a run did
    not start from, a prediction Predict whole segment replaces, labels inkloop did not
    mark that a Save writes into): ``<stem>.saved-<its last write, local time><ending>``
    beside it (a prediction's whole ending: ``.ome.zarr``), a number added if an earlier kept
    copy has that name (none is ever replaced). `inkloop.io._side_kinds.KEPT` matches them."""
    path = Path(path)
    stem, written = prediction_stem(path), time.localtime(path.stat().st_mtime)
    ending, saved = path.name[len(stem) :], time.strftime("%Y%m%d-%H%M%S", written)
    kept, number = path.with_name(f"{stem}.saved-{saved}{ending}"), 1
    while kept.exists():
        number += 1
        kept = path.with_name(f"{stem}.saved-{saved}-{number}{ending}")
    return kept


def with_prediction_format(out: str | Path, fmt: str) -> Path:
    """``out`` with the ending of the prediction format ``fmt`` in place of its own."""
    out = Path(out).expanduser()
    return out.with_name(f"{prediction_stem(out)}.{_format(fmt)}")


def prediction_output(out: str | Path, fmt: str | None = None) -> Path:
    """``out`` as a prediction file (with the ending of ``fmt``, if given); ValueError now
    if it is of another kind or cannot be written."""
    from inkloop.io._write import check_writable

    out = Path(out).expanduser() if fmt is None else with_prediction_format(out, fmt)
    if prediction_kind(out) is None:
        raise ValueError(f"{out}: the output must end in .ome.zarr, .png, .tif, .tiff or .zarr")
    check_writable(out)
    return out


def prediction_levels(path: str | Path) -> list:
    """A prediction file as lazy arrays, finest first: the levels of an OME-Zarr pyramid, or
    the one image of any other format (as stored: uint8 0-255 or float32 0..1)."""
    import dask.array as da

    path = Path(path).expanduser()
    if not path.exists():
        raise FileNotFoundError(f"{path}: no such prediction")
    kind = prediction_kind(path)
    if kind == "ome.zarr":
        import zarr

        group = zarr.open_group(str(path), mode="r")
        datasets = group.attrs["ome"]["multiscales"][0]["datasets"]
        return [da.from_zarr(group[d["path"]]) for d in datasets]
    if kind == "zarr":
        return [da.from_zarr(str(path))]
    from inkloop.io._images import image_info, open_window_reader, read_image

    info = image_info(path)
    if kind == "tif" and info.grey:  # read by window: the file may declare any size
        reader = open_window_reader(path, info)
        return [lazy(reader, _tiff_chunks(reader), key=path)]
    return [da.from_array(read_image(path, grey=True))]  # a PNG has no random access


def _tiff_chunks(reader) -> tuple[int, int]:
    """1024² where a TIFF is read by window; strips decode whole at each read: the whole image
    if it declares under WHOLE_STRIPS_BYTES, else full-width bands of strips ~1024 rows high."""
    stored, (height, width) = getattr(reader, "chunks", None), reader.shape
    if stored is None or stored[-1] < width:  # uncompressed (read with pread), or tiled
        return PREDICTION_CHUNKS
    if height * width * np.dtype(reader.dtype).itemsize < WHOLE_STRIPS_BYTES:
        return (height, width)
    return (max(1, PREDICTION_CHUNKS[0] // stored[0]) * stored[0], width)


def prediction_origin(path: str | Path) -> tuple[float, float]:
    """Where a prediction's first pixel lies in its segment, (y, x): the translation an
    OME-Zarr of a region records, or ORIGIN_KEY in a zarr's attributes, a PNG's text or a
    TIFF's JSON description; (0, 0) where none is recorded (a whole segment's, or a file
    not from `inkloop predict`)."""
    kind = prediction_kind(Path(path))
    if kind == "ome.zarr":
        import zarr

        ome = zarr.open_group(str(path), mode="r").attrs["ome"]
        moves = ome["multiscales"][0]["datasets"][0]["coordinateTransformations"]
        moves = [t["translation"] for t in moves if t["type"] == "translation"]
        return tuple(moves[0]) if moves else (0.0, 0.0)
    from inkloop.io._prediction_metadata import recorded_origin

    recorded = recorded_origin(Path(path), kind)
    return (float(recorded[0]), float(recorded[1])) if recorded else (0.0, 0.0)


def is_prediction_pyramid(path: str | Path) -> bool:
    """Whether ``path`` is a 2D OME-Zarr image (a prediction pyramid), from its metadata
    alone; a 3D one is a segment."""
    path = Path(path)
    try:
        attributes = json.loads((path / "zarr.json").read_text()).get("attributes", {})
        first = attributes["ome"]["multiscales"][0]["datasets"][0]["path"]
        level = json.loads((path / first / "zarr.json").read_text())
    except (OSError, ValueError, KeyError, IndexError, TypeError):
        return False  # not a zarr v3 OME image: a segment, or nothing this plugin opens
    return len(level.get("shape", ())) == 2


def read_prediction(path: str | Path) -> np.ndarray:
    """A prediction file as float32 0..1 at full resolution (`probabilities`: uint8 /255,
    16-bit by its top 8 bits, float as is)."""
    return probabilities(np.asarray(prediction_levels(path)[0]), path)


def _ending(path: Path, kind: str) -> str:
    name = path.name.lower()
    return max((e for e, k in _KINDS.items() if k == kind and name.endswith(e)), key=len)


def _format(fmt: str) -> str:
    if fmt not in PREDICTION_FORMATS:
        choices = ", ".join(PREDICTION_FORMATS)
        raise ValueError(f"unknown prediction format {fmt!r}; choose one of {choices}")
    return fmt
