"""`inkloop info` and `inkloop check`: what a segment or checkpoint holds, and a pre-flight
check of a segment's stack (surface, z-window, layer order)."""

from __future__ import annotations

import json
from pathlib import Path

from inkloop._cli_predict import check_model_file
from inkloop.checkpoint import CHECKPOINT_SUFFIXES
from inkloop.io import segment_location, shown_location
from inkloop.io._images import IMAGE_SUFFIXES

# what `info` says of a checkpoint saved mid-run: an autosave, or a Save while it trained
UNFINISHED = (
    "saved while its run was under way (an autosave, or a Save during the run); if it is that "
    "run's last save, the run was killed, crashed or diverged: continue it with inkloop train "
    "--init MODEL --out MODEL (after a divergence, with a lower --lr)"
)


def add_inspect(commands) -> None:
    """Add the `info` and `check` sub-commands to the `inkloop` parser."""
    info = commands.add_parser(
        "info", help="print what a segment or a checkpoint (MODEL.pt) holds, as JSON"
    )
    info.add_argument(
        "segment",
        type=segment_location,
        help="layer folder, multi-page TIFF, zarr (or its http(s):// URL), or a checkpoint "
        "file (any file that is not an image)",
    )
    info.add_argument(
        "--labels-hash",
        action="store_true",
        help="also print labels_hash (with labels_file, supervision_file): the hash a "
        "checkpoint records of the labels it trained on, here of the segment's own labels as "
        "`inkloop train` reads them. It decodes the labels and mask (seconds at full size); "
        "plain info reads only headers",
    )
    info.add_argument(
        "--labels",
        type=Path,
        help="ink labels to print the labels_hash of instead, as `inkloop train --labels` "
        "reads them (implies --labels-hash)",
    )
    info.add_argument(
        "--supervision",
        type=Path,
        help="the supervision mask to go with them, as train takes it (implies --labels-hash)",
    )
    info.set_defaults(run=_info)

    check = commands.add_parser(
        "check",
        help="pre-flight check of a segment: where the papyrus surface is, which z-window "
        "to read, and (with --model) whether its layers look reversed",
    )
    check.add_argument("segment", type=segment_location, help="anything `inkloop info` reads")
    check.add_argument("--model", type=Path, help="checkpoint to read the stack both ways with")
    check.add_argument("--device", default="auto", help="auto, cpu, cuda, cuda:1 or mps")
    check.add_argument("--json", action="store_true", help="print the full report as JSON")
    check.set_defaults(run=_check)


def _info(args) -> int:
    from inkloop.io import open_segment

    if _is_checkpoint(args.segment):
        if args.labels is not None or args.supervision is not None:
            raise ValueError(
                "--labels and --supervision go with a segment: a checkpoint prints the hash of "
                "the labels it trained on (provenance.labels.hash)"
            )
        described = _described(args.segment)
        provenance = described["provenance"]
        if "segment_path" in provenance:  # earlier versions recorded a URL's login too
            provenance["segment_path"] = shown_location(provenance["segment_path"])
        if _saved_mid_run(described["step"], provenance.get("trained_on") or {}):
            described["unfinished"] = UNFINISHED
        print(json.dumps(described))
        return 0
    segment = open_segment(args.segment)
    _tell_of_stray_side_files(segment)
    report = {
        "name": segment.name,
        "path": shown_location(segment.path),
        "format": segment.format,
        "shape": list(segment.shape),
        "dtype": str(segment.dtype),
        "layer_range": [segment.layer_numbers[0], segment.layer_numbers[-1]],
        "levels": [list(level.shape) for level in segment.levels],
        "has_mask": segment.mask is not None,
        "has_ink_labels": segment.ink_labels is not None,
        "has_supervision": segment.supervision is not None,
        "files": {key: str(path) for key, path in segment.files.items()},
        "problems": _side_image_problems(segment),
    }
    if args.labels_hash or args.labels is not None or args.supervision is not None:
        report.update(_labels_identity(segment, args.labels, args.supervision, report["problems"]))
    print(json.dumps(report))
    return 0


def _labels_identity(segment, labels, supervision, problems: list[str]) -> dict:
    """The `inkloop.rounds.labels_hash` of the labels `inkloop train` would read from
    ``segment`` (``labels``, ``supervision`` as its options), as a checkpoint records it
    (provenance.labels.hash), and the files it read; None where the segment has no labels.
    The segment's own labels that cannot be read add their problem to ``problems`` (said on
    stderr, if `_side_image_problems` has not said it) rather than failing `info`."""
    from inkloop._notify import notify
    from inkloop.io import load_labels
    from inkloop.io._label_images import label_arrays
    from inkloop.rounds import labels_hash

    none = {"labels_hash": None, "labels_file": None, "supervision_file": None}
    given = labels is not None or supervision is not None
    # absolute, as `inkloop train` records them
    labels, supervision = (p and p.expanduser().absolute() for p in (labels, supervision))
    if not given and segment.ink_labels is None:
        return none
    try:
        ink, supervised, sources = load_labels(segment, labels, supervision)
        ink, supervised = label_arrays(ink, supervised, segment.shape[1:])
    except (ValueError, OSError) as error:
        if given:
            raise
        if str(error) not in problems:
            problems.append(str(error))
            notify(str(error))
        return none
    files = {key: shown_location(value) for key, value in sources.items()}
    return {"labels_hash": labels_hash(ink, supervised), **files}


def _side_image_problems(segment) -> list[str]:
    """What the headers of the segment's mask and label images tell is wrong with them (a
    size other than the layers', a damaged file), each also said on stderr: opening reads
    nothing more, and train and the dock refuse such a file."""
    from inkloop._notify import notify
    from inkloop.io import SegmentError

    problems = []
    for path in segment.files.values():
        try:
            segment.check_side_image(path)
        except SegmentError as error:
            problems.append(str(error))
            notify(str(error))
    return problems


def _tell_of_stray_side_files(segment) -> None:
    """Say so on stderr where the segment lacks a mask or labels that its folder holds under
    another id (as napari and `inkloop train` do)."""
    from inkloop._notify import notify
    from inkloop.io import stray_side_files_hint

    hint = stray_side_files_hint(segment)
    if hint:
        notify(f"{segment.name}: {hint}")


def _saved_mid_run(step: int, trained_on: dict) -> bool:
    """Whether a checkpoint at ``step`` whose run is described by ``trained_on`` was saved
    after that run's first step and before its end (no end: ``cut_short`` is None)."""
    started = (trained_on.get("batch_sizes") or [[step]])[0][0]
    return "cut_short" in trained_on and trained_on["cut_short"] is None and step > started


def _described(path: Path) -> dict:
    """The checkpoint at ``path`` described; a file of another ending that is none is
    neither a segment nor a checkpoint, and says what was expected."""
    from inkloop.checkpoint import CheckpointError, CheckpointMisfitError, describe_checkpoint

    try:
        return describe_checkpoint(path)
    except CheckpointError as error:
        if path.suffix.lower() in CHECKPOINT_SUFFIXES or isinstance(error, CheckpointMisfitError):
            raise
        raise CheckpointError(
            f"{path}: neither a segment nor an inkloop checkpoint (expected a folder of layers, "
            "a multi-page TIFF, a zarr, or a MODEL.pt from inkloop train)"
        ) from None


def _is_checkpoint(path: Path | str) -> bool:
    """Whether `info` reads ``path`` as a checkpoint: by its ending, or any local file that is
    not an image (`inkloop train --out` and `predict --model` take any file name)."""
    if not isinstance(path, Path):  # a URL: a segment
        return False
    suffix = path.suffix.lower()
    return suffix in CHECKPOINT_SUFFIXES or (path.is_file() and suffix not in IMAGE_SUFFIXES)


def _check(args) -> int:
    from inkloop.check import check_segment

    if args.model is None and args.device != "auto":  # it would be ignored without a word
        raise ValueError("--device: only with --model (which reads the stack on it)")
    if args.model is not None:
        check_model_file(args.model)
    report = check_segment(args.segment, args.model, device=args.device)
    if args.json:
        print(json.dumps(report))
    else:
        print("\n".join(report["lines"]))
    return 0
