"""What a prediction file records of how it was made (`prediction_record`): the model, the
segment and its layers read, the options and the machine. Every format stores it under
`RECORD_KEY`, beside the origin of a region's prediction (`inkloop.predict._outputs`);
`inkloop.io._prediction_metadata.recorded_provenance` reads it back."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from pathlib import Path

import inkloop
from inkloop.io import shown_location

_HASH_CHARS = 16  # of a sha256: as short as the labels hash, and `sha256sum` shows it whole


def model_identity(checkpoint) -> dict:
    """The model behind a prediction: its file's name and the sha256 of the file's bytes
    (its first 16 hex digits: `sha256sum MODEL.pt` checks it), the id of the run that saved
    it where the checkpoint records one, and its training step."""
    source = Path(checkpoint.source) if checkpoint.source else None
    return {
        "file": source.name if source else None,
        "sha256": _file_sha256(source) if source else None,
        "run": checkpoint.provenance.get("run"),  # None in checkpoints before run ids
        "step": checkpoint.step,
    }


def live_model_identity(step: int, run: str | None = None) -> dict:
    """The model a training session holds in memory, at ``step`` of the run ``run``: no
    file holds these weights (a saved model may hold them, or later ones)."""
    return {"file": None, "sha256": None, "run": run, "step": step}


def prediction_record(predictor, segment, model: dict | None, region, *, device=None) -> dict:
    """How ``predictor`` predicts ``region`` (y0, x0, y1, x1) of ``segment``: ``model``
    (`model_identity`; None: not known), the segment's name, path (a URL without its
    login) and size (height, width: so a whole segment's file is never read as a region of
    a larger one), the layers read (positions in the stack and file numbers, in the order
    read; ``reverse``: the stack read back to front), the input composition and scale, tta,
    the device and precision, and the inkloop version. ``device``: where the blocks run if not
    where ``predictor`` is (a cluster's workers: as asked of them; each picks its precision)."""
    composition, depth = predictor.composition, segment.shape[0]
    if device is None:
        device, precision = str(predictor.device), _precision(predictor.device)
    else:
        precision = None
    return {
        "model": model,
        "segment": {
            "name": segment.name,
            "path": shown_location(segment.path),
            "shape": [int(v) for v in segment.shape[1:]],
        },
        "layers": composition.layer_indices(depth).tolist(),
        "layer_files": list(composition.file_layers(segment)),
        "reverse": composition.reverse,
        "composition": composition.mode,
        "scale": composition.scale,
        "tta": predictor.tta,
        "device": device,
        "precision": precision,
        "region": [int(v) for v in region],
        "inkloop": inkloop.__version__,
    }


def stamped(record: dict) -> dict:
    """``record`` with the time (UTC, ISO 8601) its file is written."""
    return {**record, "written": datetime.now(UTC).isoformat(timespec="seconds")}


def _precision(device) -> str:
    """What a prediction on ``device`` computes in: "float32" or the autocast dtype."""
    from inkloop.model import mixed_precision

    dtype = mixed_precision(device)
    return "float32" if dtype is None else str(dtype).removeprefix("torch.")


def _file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as file:
        for block in iter(lambda: file.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()[:_HASH_CHARS]
