"""What a prediction file records about itself, read from its metadata alone (no pixels):
the origin of a region's prediction, how it was made (`recorded_provenance`), and a zarr
array's dimensions and attributes (`inkloop.io._sidefiles.prediction_origin` and
``is_prediction_file`` ask)."""

from __future__ import annotations

import json
from pathlib import Path

from inkloop.io._images import image_text
from inkloop.io._sidefiles import ORIGIN_KEY, is_prediction_file, prediction_kind

# how a prediction was made (`inkloop.predict._provenance.prediction_record`), beside
# ORIGIN_KEY: in a zarr's attributes, an OME-Zarr group's, a PNG's text or a TIFF's description
RECORD_KEY = "inkloop"


def recorded_origin(path: Path, kind: str | None):
    """The ORIGIN_KEY a prediction of format ``kind`` records ((y, x)), or None: in a zarr's
    attributes, a PNG's text or a TIFF's JSON description (an OME-Zarr's transformations say
    where it lies: `inkloop.io.prediction_origin`)."""
    return _recorded(path, kind).get(ORIGIN_KEY)


def recorded_provenance(path: str | Path) -> dict | None:
    """How the prediction file ``path`` was made, as inkloop recorded it when it wrote the
    file (`inkloop.predict._provenance.prediction_record`, with the time "written"); None
    for a file that records none (another tool's, or inkloop's before it did)."""
    path = Path(path)
    record = _recorded(path, prediction_kind(path)).get(RECORD_KEY)
    return record if isinstance(record, dict) else None


def _recorded(path: Path, kind: str | None) -> dict:
    """The metadata a prediction of format ``kind`` records: a zarr array's or an OME-Zarr
    group's attributes, a PNG's text (inkloop's keys read as JSON, RECORD_KEY only where it
    holds a JSON object) or a TIFF's JSON description; {} for another format."""
    if kind in ("zarr", "ome.zarr"):
        import zarr

        node = zarr.open_array if kind == "zarr" else zarr.open_group
        return dict(node(str(path), mode="r").attrs)
    if kind == "png":
        texts = image_text(path)  # PIL's Image.text would decode the pixels first
        recorded = {ORIGIN_KEY: json.loads(texts[ORIGIN_KEY])} if texts.get(ORIGIN_KEY) else {}
        if (record := _json_object(texts.get(RECORD_KEY))) is not None:
            recorded[RECORD_KEY] = record
        return recorded
    if kind == "tif":
        import tifffile

        with tifffile.TiffFile(path) as tiff:
            return dict(tiff.shaped_metadata[0]) if tiff.shaped_metadata else {}
    return {}


def _json_object(text: str | None) -> dict | None:
    """``text`` read as a JSON object, else None: inkloop's painted labels carry RECORD_KEY
    too, as plain text (`inkloop.io._label_images.PAINTED`), which is no record."""
    try:
        value = json.loads(text) if text else None
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


def zarr_array_metadata(path: Path) -> tuple[int | None, dict]:
    """How many dimensions a zarr array (v2 or v3) has and its attributes, from its
    metadata; (None, {}) for a group or anything else."""
    try:
        if (path / ".zarray").is_file():
            dims = len(json.loads((path / ".zarray").read_text())["shape"])
            attributes = path / ".zattrs"
            return dims, json.loads(attributes.read_text()) if attributes.is_file() else {}
        metadata = json.loads((path / "zarr.json").read_text())
        if metadata.get("node_type") != "array":
            return None, {}
        return len(metadata["shape"]), metadata.get("attributes") or {}
    except (OSError, ValueError, KeyError, TypeError):
        return None, {}  # no zarr array's metadata: not a prediction array


def foreign_file(out: str | Path) -> bool:
    """Whether ``out`` holds a file inkloop did not record writing, such as the Grand Prize
    model's ``<id>_prediction.png`` or another tool's OME-Zarr pyramid: every prediction
    inkloop writes records ORIGIN_KEY (since 2026-12-05; an OME-Zarr its RECORD_KEY, since
    2026-12-07, or its earlier `_inkloops_bare_pyramid`), and one that does not may be
    someone's work (or inkloop's from before 2026-12-05: such a PNG, TIFF or zarr records
    nothing). A folder that is no prediction is not one: nothing replaces it
    (`inkloop._overwrite.refuse_folder`)."""
    out = Path(out)
    if not out.exists():
        return False
    kind = prediction_kind(out)
    if out.is_dir():
        if kind not in ("zarr", "ome.zarr") or not is_prediction_file(out):
            return False
        if kind == "ome.zarr":
            attributes = _recorded(out, kind)
            return RECORD_KEY not in attributes and not _inkloops_bare_pyramid(attributes, out)
        return ORIGIN_KEY not in zarr_array_metadata(out)[1]
    if kind not in ("png", "tif"):  # a plain file where inkloop writes a zarr folder
        return True
    try:
        return recorded_origin(out, kind) is None
    except (OSError, ValueError):  # not an image at all (Pillow's and tifffile's errors)
        return True


def _inkloops_bare_pyramid(attributes: dict, path: Path) -> bool:
    """Whether an OME-Zarr group's ``attributes`` are exactly what inkloop wrote from
    2026-11-28 to 2026-12-06, before RECORD_KEY (`inkloop.predict._outputs`): only "ome",
    version 0.5 and one multiscales entry of name, axes and datasets alone, named after the
    file itself, on axes y and x, its levels "0", "1", … each scaled 2^i (and from 2026-12-05
    moved by inkloop's offsets), level 0 uint8 on dimensions y and x. Another tool's pyramid
    (ome-zarr-py's, named after its folder, say) differs in one of these: its float
    probabilities most often."""
    try:
        ome = attributes["ome"]
        (entry,) = ome["multiscales"]
        datasets = entry["datasets"]
        paths = [d["path"] for d in datasets]
        moves = [d["coordinateTransformations"] for d in datasets]
        keys_ok = set(ome) == {"version", "multiscales"} and ome["version"] == "0.5"
        keys_ok &= set(entry) == {"name", "axes", "datasets"}
        keys_ok &= all(set(d) == {"path", "coordinateTransformations"} for d in datasets)
    except (KeyError, TypeError, ValueError, IndexError):  # other tools' metadata
        return False
    return (
        set(attributes) == {"ome"}
        and keys_ok
        and entry["name"] == path.name
        and entry["axes"] == [{"name": "y", "type": "space"}, {"name": "x", "type": "space"}]
        and paths == [str(i) for i in range(len(paths))]
        and moves in (_inkloops_moves(len(moves), None), _inkloops_moves(len(moves), moves))
        and _inkloops_level0(path / "0")
    )


def _inkloops_moves(levels: int, moves: list | None) -> list | None:
    """The transformations of ``levels`` levels as inkloop wrote them: each scaled 2^i, and
    where ``moves`` is given moved from the translation its level 0 records, each pixel's
    centre (2^i - 1) / 2 level-0 pixels further; None where that translation is none."""
    scales = [{"type": "scale", "scale": [2.0**i] * 2} for i in range(levels)]
    if moves is None:
        return [[scale] for scale in scales]
    try:
        origin = moves[0][1]["translation"]
        offsets = [[v + (2**i - 1) / 2 for v in origin] for i in range(levels)]
    except (KeyError, TypeError, IndexError):
        return None
    return [[scales[i], {"type": "translation", "translation": offsets[i]}] for i in range(levels)]


def _inkloops_level0(level: Path) -> bool:
    """Whether the zarr v3 array ``level`` is uint8 on dimensions y and x, as inkloop's
    pyramids always were (another tool's ink probabilities are most often floats)."""
    try:
        metadata = json.loads((level / "zarr.json").read_text())
    except (OSError, ValueError):
        return False
    return (
        isinstance(metadata, dict)
        and metadata.get("node_type") == "array"
        and metadata.get("data_type") == "uint8"
        and metadata.get("dimension_names") == ["y", "x"]
    )
