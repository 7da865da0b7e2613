"""What a prediction file records about itself, read from its metadata alone (no pixels):
the origin of a region's prediction, and a zarr array's dimensions and attributes
(`inkloop.io._sidefiles.prediction_origin` and ``is_prediction_file`` ask)."""

from __future__ import annotations

import json
from pathlib import Path

from inkloop.io._sidefiles import ORIGIN_KEY


def recorded_origin(path: Path, kind: str | None):
    """The ORIGIN_KEY a prediction of format ``kind`` records ((y, x)), or None: in a zarr's
    attributes, a PNG's text or a TIFF's JSON description."""
    if kind == "zarr":
        import zarr

        return zarr.open_array(str(path), mode="r").attrs.get(ORIGIN_KEY)
    if kind == "png":
        from PIL import Image

        with Image.open(path) as image:
            text = image.text.get(ORIGIN_KEY)
        return json.loads(text) if text else None
    if kind == "tif":
        import tifffile

        with tifffile.TiffFile(path) as tiff:
            described = tiff.shaped_metadata[0] if tiff.shaped_metadata else {}
        return described.get(ORIGIN_KEY)
    return None


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
