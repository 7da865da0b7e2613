"""`inkloop predict` (one segment or many, in this process or on a dask.distributed cluster)
and `inkloop evaluate`."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from inkloop.io import DEFAULT_PREDICTION_FORMAT, PREDICTION_FORMATS, prediction_kind

# the exit status of a run refused before any prediction began (nothing written), as
# argparse's for a command line it refuses
REFUSED = 2


def add_predict(commands) -> None:
    """Add the `predict` and `evaluate` sub-commands to the `inkloop` parser."""
    predict = commands.add_parser(
        "predict",
        help="write the ink probability of segments (or a region) with a trained model",
        description="Predict block by block with dask: memory stays bounded on any segment "
        "size. --out refuses a file that exists unless --overwrite; in --out-dir an output "
        "that exists is complete (files appear only once whole) and is skipped unless "
        "--overwrite, so a batch resumes where it stopped; one another model (or other "
        "layers, --reverse, --tta) made is refused unless --overwrite.",
        epilog="stdout: a JSON summary, however the run ends. Exit status: 0 done; 1 some "
        "segments failed (--keep-going) or the run stopped part way; 2 refused before any "
        "prediction began (nothing written); 130 interrupted.",
    )
    predict.add_argument("segments", type=str, nargs="*", help="anything `inkloop info` reads")
    predict.add_argument("--model", type=Path, required=True, help="checkpoint from inkloop train")
    predict.add_argument("--segments-file", type=Path, help="a file listing segments, one a line")
    where = predict.add_mutually_exclusive_group(required=True)
    where.add_argument(
        "--out",
        type=Path,
        help="one segment's file: PRED.ome.zarr (uint8 pyramid), PRED.png, PRED.tif "
        "(tiled uint8 BigTIFF) or PRED.zarr (float32)",
    )
    where.add_argument("--out-dir", type=Path, help="a folder for <id>_prediction.<format> files")
    predict.add_argument(
        "--format",
        choices=list(PREDICTION_FORMATS),
        help="of the files in --out-dir (default ome.zarr); --out's ending picks its own",
    )
    predict.add_argument(
        "--scheduler",
        help="local:N (N worker processes here, one per GPU when there are GPUs) or "
        "tcp://HOST:PORT (a running dask scheduler; outputs must be on a shared file system)",
    )
    predict.add_argument(
        "--overwrite",
        action="store_true",
        help="replace --out, or redo finished outputs (never what the run reads)",
    )
    predict.add_argument(
        "--keep-going",
        action="store_true",
        help="a segment that fails, or is refused as it opens (a missing or damaged layer, "
        "too few layers), is said in one line and the others go on; the failed ones are "
        "listed at the end (exit status 1)",
    )
    predict.add_argument(
        "--region",
        metavar="Y0:Y1,X0:X1",
        type=parse_region,
        help="only this rectangle of one segment (default: the whole segment)",
    )
    predict.add_argument(
        "--z-start",
        type=int,
        help="first layer of the model's window on these segments (default: the layers it "
        "was trained on, found by their file numbers)",
    )
    predict.add_argument(
        "--reverse",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="these segments' layers are stored back to front; --no-reverse: as stored, the "
        "segment the model was trained on too (default: as stored; the segment the model was "
        "trained on is read as it was trained)",
    )
    predict.add_argument("--tta", action="store_true", help="average the 8 flips/rotations")
    predict.add_argument("--device", default="auto", help="auto, cpu, cuda, cuda:1 or mps")
    predict.add_argument(
        "--batch-size", type=int, help="tiles per forward pass (default: 1 on a CPU, 8 on a GPU)"
    )
    predict.add_argument(
        "--tiff-float", action="store_true", help="TIFF as float32 0..1 (a .tif output only)"
    )
    predict.add_argument("--quiet", action="store_true", help="no progress bar")
    predict.set_defaults(run=_predict)

    evaluate = commands.add_parser(
        "evaluate",
        help="score a prediction against ink labels (JSON: F0.5, precision, recall, and the "
        "F0.5 of calling everything ink)",
    )
    evaluate.add_argument("prediction", type=Path, help="a file from inkloop predict")
    evaluate.add_argument(
        "--labels",
        type=Path,
        required=True,
        help="ink labels, 255 = ink; grey counts as ink from 128 (p >= 0.5), so a probability "
        "map is scored as its p >= 0.5",
    )
    evaluate.add_argument(
        "--supervision",
        type=Path,
        help="score only these pixels (255 = labelled; default: the supervision mask saved "
        "with the labels, X_supervision_mask.png beside X_inklabels.png, as train reads it, "
        "else every pixel); 'all': every pixel",
    )
    evaluate.add_argument(
        "--region",
        metavar="Y0:Y1,X0:X1",
        type=parse_region,
        help="score only this rectangle (e.g. the half a model was not trained on)",
    )
    evaluate.set_defaults(run=_evaluate)


def parse_region(text: str) -> tuple[int, int, int, int]:
    """'Y0:Y1,X0:X1' -> (y0, x0, y1, x1)."""
    try:
        rows, cols = text.split(",")
        (y0, y1), (x0, x1) = (map(int, part.split(":")) for part in (rows, cols))
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not Y0:Y1,X0:X1") from None
    return y0, x0, y1, x1


def _predict(args) -> int:
    """`inkloop predict`: its JSON summary on stdout whatever ends it (what was written,
    skipped and failed so far); exit status 0 when every segment is done, 1 when some failed
    or the run stopped part way (and for a bug, as `inkloop.cli.main` says), 2 when it was
    refused before any prediction began (nothing written), 130 when interrupted."""
    from inkloop._errors import users_error
    from inkloop.predict._outcome import Outcome

    outcome = Outcome()
    try:
        summary = _predict_segments(args, outcome)
    except Exception as error:
        _report({**outcome.summary(), "scheduler": args.scheduler}, stopped=str(error))
        if outcome.began or not users_error(error, command=True):
            raise
        print(f"inkloop predict: error: {error}", file=sys.stderr)  # as cli.main says it
        return REFUSED
    except BaseException:  # Ctrl+C, SIGTERM (`terminate_as_ctrl_c`)
        _report({**outcome.summary(), "scheduler": args.scheduler}, stopped="interrupted")
        raise
    _report(summary)
    return 1 if summary["failed"] else 0


def _predict_segments(args, outcome) -> dict:
    """`predict_segments` as the command line asks, into ``outcome``; its summary."""
    from inkloop.headless import predict_segments

    for name in ("out", "model", "segments_file"):  # `--out=~/x` reaches us unexpanded
        if getattr(args, name) is not None:
            setattr(args, name, getattr(args, name).expanduser())
    if args.scheduler is not None:  # a typo is refused before any segment opens
        from inkloop.predict._cluster import parse_scheduler

        parse_scheduler(args.scheduler)
    segments = _segment_list(args.segments, args.segments_file)
    check_format(args.out, args.format, args.tiff_float)
    check_model_file(args.model)
    return predict_segments(
        segments,
        args.model,
        out=args.out,
        out_dir=args.out_dir,
        fmt=args.format or DEFAULT_PREDICTION_FORMAT,
        scheduler=args.scheduler,
        overwrite=args.overwrite,
        region=args.region,
        tta=args.tta,
        device=args.device,
        batch_size=args.batch_size,
        tiff_float=args.tiff_float,
        z_start=args.z_start,
        reverse=args.reverse,
        progress=not args.quiet,
        keep_going=args.keep_going,
        outcome=outcome,
    )


def _report(summary: dict, stopped: str | None = None) -> None:
    """The failed segments again on stderr (said as they failed: here together), and the
    JSON ``summary`` with each written file's provenance and why the run ``stopped`` (None:
    it ran to its end)."""
    for failure in summary["failed"]:
        print(f"inkloop predict: failed: {failure['error']}", file=sys.stderr)
    provenance = _provenance_of(summary["written"])
    print(json.dumps({**summary, "stopped": stopped, "provenance": provenance}), flush=True)


def _provenance_of(written: list[str]) -> dict:
    """Each file written -> how it was made, as the file records it (None: it records none)."""
    from inkloop.io._prediction_metadata import recorded_provenance

    return {out: recorded_provenance(out) for out in written}


def check_format(out: Path | None, fmt: str | None, tiff_float: bool) -> None:
    """ValueError if --format or --tiff-float contradict the output's format: ``out``'s
    ending, else ``fmt`` (an ending it lacks is refused later, by `prediction_output`)."""
    kind = prediction_kind(out) if out is not None else fmt or DEFAULT_PREDICTION_FORMAT
    if out is not None and fmt not in (None, kind) and kind is not None:
        raise ValueError(
            f"--format {fmt} contradicts --out {out}, a {PREDICTION_FORMATS[kind]} file: the "
            f"ending of --out picks its format (drop --format, or name the file .{fmt})"
        )
    if tiff_float and kind not in ("tif", None):
        if out is not None:
            given = f"--out {out} is a {PREDICTION_FORMATS[kind]} file (name it .tif)"
        else:
            given = f"--out-dir gets {PREDICTION_FORMATS[kind]} files (add --format tif)"
        raise ValueError(f"--tiff-float writes a float32 TIFF, but {given}")


def check_model_file(model: Path) -> None:
    """ValueError now for a --model that is a folder (a missing file is refused as it loads)."""
    from inkloop.checkpoint import checkpoint_file

    if model.is_dir():
        try:
            checkpoint_file(model)
        except FileNotFoundError as error:
            raise ValueError(f"--model {error}") from None


def _segment_list(given: list[str], listing: Path | None) -> list[str]:
    segments = list(given)
    if listing is not None:
        lines = _listing_text(listing).splitlines()
        segments += [s.strip() for s in lines if s.strip() and not s.lstrip().startswith("#")]
    if not segments:
        raise ValueError("no segment given (name one, or --segments-file)")
    return segments


def _listing_text(listing: Path) -> str:
    """The text of a --segments-file; ValueError naming it where it cannot be read, or is
    not text (bytes the text encoding cannot read, or NUL bytes, which no path holds: an
    image, say)."""
    try:
        text = listing.read_text()
    except OSError as error:
        raise ValueError(f"--segments-file {listing}: {error.strerror}") from None
    except UnicodeDecodeError:
        text = None
    if text is None or "\0" in text:
        raise ValueError(
            f"--segments-file {listing} is not a text file (it lists segments, one a line)"
        )
    return text


def _evaluate(args) -> int:
    from inkloop.headless import evaluate_file
    from inkloop.metrics import NoInkError

    try:
        report = evaluate_file(args.prediction, args.labels, args.supervision, args.region)
    except NoInkError as error:
        where = " (within --region)" if args.region else ""
        raise ValueError(f"{args.labels}: {error}{where}") from None
    print(json.dumps(report))
    return 0
